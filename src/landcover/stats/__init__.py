"""Regional land-cover statistics with confidence intervals: the tools of chapter 4.

Every raster is on the tiles' grid (EPSG:3035, equal-area, 10 m pixels: one pixel
is 100 m² = 1e-4 km²), so pixel counts are areas. Chapter 4, section by section:

1. *From pixels to areas per region* (:mod:`~landcover.stats.zonal`):
   :func:`pixel_centre_counts`, :func:`exact_coverage_counts`, :func:`region_coverage`
   (:func:`region_masks` gives the pixels of each region).
2. *Land-cover accounts* (:mod:`~landcover.stats.accounts`): :func:`class_accounts`,
   :func:`group_accounts` (:data:`CLASS_GROUPS`), :func:`land_area`, :func:`country_accounts`.
3. *Agreement with the labels* (:mod:`~landcover.stats.agreement`):
   :func:`confusion_matrix`, :func:`agreement_report`; the labels and the tiles'
   footprint on a region map's grid (:mod:`~landcover.stats.reference`):
   :func:`label_mosaic`, :func:`tile_footprint`.
4. *Designing a reference sample* (:mod:`~landcover.stats.design`,
   :mod:`~landcover.stats.sampling`): :func:`sample_size_for_overall_accuracy`,
   :func:`allocate_sample`, :func:`overall_accuracy_se`, :func:`stratified_sample`,
   :func:`reference_at`, :func:`error_matrix_from_sample`.
5. *Areas with confidence intervals* (:mod:`~landcover.stats.estimation`):
   :func:`estimate_areas`, :func:`estimate_group_areas` (on
   :func:`merge_reference_classes`), :func:`estimate_share`.
6. *Change between years* (:mod:`~landcover.stats.change`): :func:`transition_matrix`,
   :func:`transitions_by_region`, :func:`gross_and_net_change`, :func:`land_take`,
   :func:`land_take_by_origin`, :func:`average_annual_rate`.
7. *Indicators* (:mod:`~landcover.stats.indicators`): :func:`sealed_share_of_land`,
   :func:`tree_cover_share_of_land` (SDG 15.1.1 proxy), their bias-adjusted
   versions :func:`sealed_share_estimate` and :func:`tree_cover_share_estimate`,
   :func:`land_take_indicator`, :func:`land_take_table`.
8. *Tables for publication* (:mod:`~landcover.stats.export`): ``sdmx_csv_table``,
   ``write_table``.
"""

from landcover.stats._validation import PIXEL_AREA_M2
from landcover.stats.accounts import (
    CLASS_GROUPS,
    LAND_CLASSES,
    WATER_CLASSES,
    class_accounts,
    country_accounts,
    group_accounts,
    land_area,
)
from landcover.stats.agreement import agreement_report, confusion_matrix
from landcover.stats.change import (
    SEALED_CLASSES,
    average_annual_rate,
    gross_and_net_change,
    land_take,
    land_take_by_origin,
    transition_matrix,
)
from landcover.stats.design import allocate_sample, overall_accuracy_se, sample_size_for_overall_accuracy
from landcover.stats.estimation import (
    Z95,
    ShareEstimate,
    estimate_areas,
    estimate_group_areas,
    estimate_share,
    merge_reference_classes,
)
from landcover.stats.indicators import (
    TREE_COVER_CLASSES,
    land_take_indicator,
    land_take_table,
    sealed_share_estimate,
    sealed_share_of_land,
    tree_cover_share_estimate,
    tree_cover_share_of_land,
)
from landcover.stats.reference import label_mosaic, tile_footprint
from landcover.stats.sampling import SampleWarning, error_matrix_from_sample, reference_at, stratified_sample
from landcover.stats.zonal import (
    exact_coverage_counts,
    pixel_centre_counts,
    region_coverage,
    region_masks,
    transitions_by_region,
)

__all__ = [
    "CLASS_GROUPS", "LAND_CLASSES", "PIXEL_AREA_M2", "SEALED_CLASSES", "TREE_COVER_CLASSES", "WATER_CLASSES", "Z95",
    "SampleWarning", "ShareEstimate",
    "agreement_report", "allocate_sample", "average_annual_rate", "class_accounts", "confusion_matrix",
    "country_accounts", "error_matrix_from_sample", "estimate_areas", "estimate_group_areas", "estimate_share",
    "exact_coverage_counts", "group_accounts", "gross_and_net_change", "label_mosaic", "land_area", "land_take",
    "land_take_by_origin", "land_take_indicator", "land_take_table", "merge_reference_classes",
    "overall_accuracy_se", "pixel_centre_counts", "reference_at", "region_coverage", "region_masks",
    "sample_size_for_overall_accuracy", "sealed_share_estimate", "sealed_share_of_land", "stratified_sample",
    "tile_footprint", "transition_matrix", "transitions_by_region", "tree_cover_share_estimate",
    "tree_cover_share_of_land",
]
