"""Building a region's tiles from the source archives (the appendix's pipeline).

- :mod:`~landcover.download.grid`: the 2.5 km EPSG:3035 grid and tile names.
- :mod:`~landcover.download.products`: a product's bands from the CDSE EO S3 archive.
- :mod:`~landcover.download.patches`: reprojection, radiometric offset, indices, mosaics.
- :mod:`~landcover.download.writer`: atomic, validated writes through fsspec.
- :mod:`~landcover.download.region`: the whole pipeline (:func:`build_region`).

``final_solution/download_region.py`` is the command-line front end.
"""
