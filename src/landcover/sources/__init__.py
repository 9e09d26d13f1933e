"""Clients of the services the book's data comes from.

- :mod:`~landcover.sources.clcplus`: CLC+ Backbone labels (EEA ArcGIS ImageServer).
- :mod:`~landcover.sources.cdse_auth`: CDSE access tokens, renewed on expiry.
- :mod:`~landcover.sources.sentinelhub`: Sentinel Hub Catalog and Processing APIs.
- :mod:`~landcover.sources.odata`: the CDSE OData catalogue and product downloads.

Every function takes its service URL as a parameter with the real one as
default, so tests and offline readers point them at local stand-ins. Real
internet addresses are only contacted when ``LANDCOVER_ONLINE=1``
(:func:`~landcover.sources.http.require_online`).
"""

from landcover.sources.http import ServiceError, is_loopback, require_online

__all__ = ["ServiceError", "is_loopback", "require_online"]
