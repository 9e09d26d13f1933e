"""The CDSE OData catalogue: find Sentinel-2 products, download them whole.

The catalogue (``catalogue.dataspace.copernicus.eu/odata/v1/Products``) answers
OData v4 queries: one ``$filter`` expression combines collection, product type,
acquisition dates, cloud cover, geometry and online status, and each product
comes back with its footprint and ``S3Path`` (where its ``.SAFE`` folder lies in
the ``eodata`` bucket). Attributes such as ``cloudCover`` are only returned when
asked for with ``$expand=Attributes``. Searching needs no account; downloading
the zipped product (``zipper.dataspace.copernicus.eu``) needs a bearer token
from a CDSE account (:class:`landcover.sources.cdse_auth.PasswordCredentials`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import requests
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from tqdm.auto import tqdm

from landcover.sources.http import DEFAULT_TIMEOUT, ServiceError, check_response, new_session, require_online
from landcover.storage import atomic_path

#: The OData catalogue root (real default); products are under ``/Products``.
ODATA_CATALOGUE_URL = "https://catalogue.dataspace.copernicus.eu/odata/v1"
#: The download service root (real default); a product is ``/Products({id})/$value``.
ODATA_DOWNLOAD_URL = "https://zipper.dataspace.copernicus.eu/odata/v1"
#: The catalogue refuses ``$top`` above this.
MAX_PAGE_SIZE = 1000

_BASELINE_IN_NAME = re.compile(r"_N(\d{2})(\d{2})_")


@dataclass(frozen=True)
class Product:
    """One catalogue entry, with the fields the download pipeline needs."""

    id: str
    name: str
    start: datetime
    cloud_cover: float | None
    s3_path: str | None
    footprint: BaseGeometry | None  # lon/lat (EPSG:4326)
    online: bool = True
    content_length: int | None = None
    attributes: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def processing_baseline(self) -> str | None:
        """``"04.00"`` for ``..._N0400_...``; from the attributes when the name has none."""
        return processing_baseline(self.name) or _as_baseline(self.attributes.get("processingBaseline"))

    @classmethod
    def from_json(cls, entry: dict[str, Any]) -> Product:
        """Build from one element of the catalogue's ``value`` list."""
        attributes = {a.get("Name"): a.get("Value") for a in entry.get("Attributes") or [] if "Name" in a}
        cloud = attributes.get("cloudCover")
        return cls(
            id=str(entry["Id"]),
            name=str(entry["Name"]),
            start=_parse_instant((entry.get("ContentDate") or {}).get("Start")),
            cloud_cover=float(cloud) if cloud is not None else None,
            s3_path=entry.get("S3Path"),
            footprint=_footprint(entry),
            online=bool(entry.get("Online", True)),
            content_length=entry.get("ContentLength"),
            attributes=attributes,
        )


def processing_baseline(product_name: str) -> str | None:
    """The processing baseline written in a Sentinel-2 product name (``_N0400_`` -> ``"04.00"``)."""
    match = _BASELINE_IN_NAME.search(product_name)
    return f"{match.group(1)}.{match.group(2)}" if match else None


def _as_baseline(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return f"{float(value):05.2f}"
    except (TypeError, ValueError):
        return str(value)


def _parse_instant(text: str | None) -> datetime:
    if not text:
        return datetime.min
    return datetime.fromisoformat(text)


def _footprint(entry: dict[str, Any]) -> BaseGeometry | None:
    """The product outline in lon/lat: ``GeoFootprint`` (GeoJSON) or ``Footprint`` (EWKT)."""
    geojson = entry.get("GeoFootprint")
    if geojson:
        return shape(geojson if isinstance(geojson, dict) else json.loads(geojson))
    text = entry.get("Footprint")
    if text:
        wkt = text.split(";", 1)[-1].rstrip("'")
        return shapely.from_wkt(wkt)
    return None


def _day(value: str | date, end: bool) -> str:
    """An OData instant: dates become the first (or last) millisecond of the day."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    text = value.isoformat() if isinstance(value, date) else str(value)
    if "T" in text:
        return text
    date.fromisoformat(text)  # raises a clear ValueError on a bad date
    return f"{text}T23:59:59.999Z" if end else f"{text}T00:00:00.000Z"


def wkt_lonlat(geometry: BaseGeometry, decimals: int = 5) -> str:
    """WKT of a lon/lat geometry, rounded to keep the URL short (5 decimals is about 1 m)."""
    return shapely.to_wkt(geometry, rounding_precision=decimals, trim=True)


def build_filter(
    start: str | date,
    end: str | date,
    geometry: BaseGeometry | None = None,
    collection: str = "SENTINEL-2",
    product_type: str | None = "S2MSI2A",
    max_cloud: float | None = None,
    online_only: bool = True,
) -> str:
    """The ``$filter`` expression of a product search (geometry in lon/lat, EPSG:4326)."""
    parts = [f"Collection/Name eq '{collection}'"]
    if product_type:
        parts.append(
            "Attributes/OData.CSC.StringAttribute/any(att:att/Name eq 'productType' and "
            f"att/OData.CSC.StringAttribute/Value eq '{product_type}')"
        )
    parts.append(f"ContentDate/Start gt {_day(start, end=False)}")
    parts.append(f"ContentDate/Start lt {_day(end, end=True)}")
    if max_cloud is not None:
        parts.append(
            "Attributes/OData.CSC.DoubleAttribute/any(att:att/Name eq 'cloudCover' and "
            f"att/OData.CSC.DoubleAttribute/Value lt {float(max_cloud):.2f})"
        )
    if geometry is not None:
        parts.append(f"OData.CSC.Intersects(area=geography'SRID=4326;{wkt_lonlat(geometry)}')")
    if online_only:
        parts.append("Online eq true")
    return " and ".join(parts)


def iter_products(
    filter_expression: str,
    catalogue_url: str = ODATA_CATALOGUE_URL,
    page_size: int = 100,
    order_by: str = "ContentDate/Start asc",
    max_products: int | None = None,
    session: requests.Session | None = None,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> Iterator[Product]:
    """Every product matching ``filter_expression``, page after page.

    Follows ``@odata.nextLink`` when the service gives one, otherwise asks for
    the next ``$skip`` while pages come back full.
    """
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size={page_size}: the catalogue accepts 1..{MAX_PAGE_SIZE}")
    url = catalogue_url.rstrip("/") + "/Products"
    require_online(url, "the CDSE OData catalogue")
    session = session or new_session()
    params: dict[str, Any] | None = {
        "$filter": filter_expression,
        "$orderby": order_by,
        "$top": page_size,
        "$skip": 0,
        "$expand": "Attributes",
    }
    target, skip, count = url, 0, 0
    while True:
        response = check_response(session.get(target, params=params, timeout=timeout), "OData product search")
        page = response.json()
        values = page.get("value")
        if values is None:
            raise ServiceError(f"OData answer from {response.url} has no 'value' list")
        for entry in values:
            yield Product.from_json(entry)
            count += 1
            if max_products is not None and count >= max_products:
                return
        next_link = page.get("@odata.nextLink")
        if next_link:
            require_online(next_link, "the CDSE OData catalogue")
            target, params = next_link, None
        elif len(values) >= page_size and params is not None:
            skip += page_size
            params = {**params, "$skip": skip}
        else:
            return


def search_products(
    geometry: BaseGeometry,
    start: str | date,
    end: str | date,
    max_cloud: float | None = None,
    product_type: str = "S2MSI2A",
    catalogue_url: str = ODATA_CATALOGUE_URL,
    page_size: int = 100,
    max_products: int | None = None,
    session: requests.Session | None = None,
) -> list[Product]:
    """Sentinel-2 products of ``product_type`` intersecting a lon/lat geometry between two dates.

    Least cloudy first, then oldest first. The cloud cover of each product is
    the ``cloudCover`` attribute the catalogue returns.
    """
    expression = build_filter(start, end, geometry, product_type=product_type, max_cloud=max_cloud)
    products = list(
        iter_products(
            expression,
            catalogue_url=catalogue_url,
            page_size=page_size,
            max_products=max_products,
            session=session,
        )
    )
    return sorted(products, key=lambda p: (p.cloud_cover if p.cloud_cover is not None else 101.0, p.start))


def download_url(product_id: str, download_base_url: str = ODATA_DOWNLOAD_URL) -> str:
    """URL of a product's zipped content: ``.../Products({id})/$value``."""
    return f"{download_base_url.rstrip('/')}/Products({product_id})/$value"


def download_product(
    product_id: str,
    destination: str | os.PathLike[str],
    session: requests.Session,
    download_base_url: str = ODATA_DOWNLOAD_URL,
    chunk_size: int = 1 << 20,
    progress: bool = True,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> Path:
    """Stream a product's zip to ``destination`` (a file path), atomically.

    ``session`` must carry a CDSE token (:func:`~landcover.sources.cdse_auth.authorized_session`).
    Bytes go to a temporary name next to the destination, which is renamed only
    once the size announced by the server has arrived; an interrupted download
    leaves nothing under the final name.
    """
    url = download_url(product_id, download_base_url)
    require_online(url, "the CDSE download service")
    target = Path(destination)
    with session.get(url, stream=True, timeout=timeout) as response:
        check_response(response, f"download of product {product_id}")
        expected = int(response.headers.get("Content-Length", 0)) or None
        received = 0
        with (
            atomic_path(target, suffix=".part") as partial,
            open(partial, "wb") as handle,
            tqdm(
                total=expected,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=target.name,
                disable=not progress,
                leave=False,
            ) as bar,
        ):
            for chunk in response.iter_content(chunk_size=chunk_size):
                handle.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
            if expected is not None and received != expected:
                raise ServiceError(
                    f"download of product {product_id} stopped after {received} of "
                    f"{expected} bytes; run it again"
                )
    return target
