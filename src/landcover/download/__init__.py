"""Building a region's tiles from the source archives (the appendix's pipeline).

- :mod:`~landcover.download.products`: a product's bands from the CDSE EO S3 archive.
- :mod:`~landcover.download.patches`: reprojection, radiometric offset, indices, mosaics.
- :mod:`~landcover.download.writer`: atomic, validated writes through fsspec.
- :mod:`~landcover.download.region`: the whole pipeline (:func:`build_region`).
- :mod:`~landcover.download.cli`: its command line, installed as ``landcover-download-region``
  (``final_solution/download_region.py`` runs the same ``main`` through ``uv run``).

The 2.5 km EPSG:3035 grid and tile names are the data layer's
(:mod:`landcover.data.grid`), and so is the NUTS3 loader
(:func:`landcover.data.regions.read_nuts`).
"""
