"""Stand-in for the CDSE OData catalogue and its download service (zipper).

- ``GET /odata/v1/Products`` with ``$filter``, ``$orderby``, ``$top`` (default 20,
  at most 1000), ``$skip`` and ``$expand=Attributes``: answers
  ``{"@odata.context": ..., "value": [...]}`` plus ``@odata.nextLink`` when more
  products match. Products carry ``Id``, ``Name``, ``ContentDate``, ``Footprint``
  (EWKT), ``GeoFootprint`` (GeoJSON), ``S3Path``, ``Online``...; ``Attributes``
  only when expanded, as the real service.
- ``GET /odata/v1/Products({id})/$value``: the product's zip, streamed, for a
  valid bearer token only (checked with the :class:`~landcover.sources.standins.identity.TokenIssuer`).

The filter parser understands the clause forms the real catalogue documents and
the book uses; any other clause is a 400 error, so a typo in the client fails here
as it would online.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from typing import Any

import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from landcover.sources.standins.identity import TokenIssuer

DEFAULT_TOP = 20
MAX_TOP = 1000


def product_entry(
    name: str,
    footprint: BaseGeometry | Mapping[str, Any],
    start: str,
    cloud_cover: float,
    s3_path: str | None = None,
    product_type: str = "S2MSI2A",
    product_id: str | None = None,
    online: bool = True,
    content_length: int = 0,
) -> dict[str, Any]:
    """A catalogue entry shaped like the real ones (footprint: shapely geometry in lon/lat)."""
    geometry = footprint if hasattr(footprint, "geom_type") else shape(footprint)
    baseline = re.search(r"_N(\d{2})(\d{2})_", name)
    attributes = [
        ("String", "productType", product_type),
        ("Double", "cloudCover", float(cloud_cover)),
        ("String", "platformShortName", "SENTINEL-2"),
        ("String", "instrumentShortName", "MSI"),
        ("String", "tileId", (re.search(r"_T(\d{2}[A-Z]{3})_", name) or [None, ""])[1]),
    ]
    if baseline:
        attributes.append(("Double", "processingBaseline", float(f"{baseline.group(1)}.{baseline.group(2)}")))
    return {
        "@odata.mediaContentType": "application/octet-stream",
        "Id": product_id or str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
        "Name": name,
        "ContentType": "application/octet-stream",
        "ContentLength": content_length,
        "OriginDate": start,
        "PublicationDate": start,
        "ModificationDate": start,
        "Online": online,
        "EvictionDate": "",
        "S3Path": s3_path or f"/eodata/Sentinel-2/MSI/L2A/{start[:4]}/{start[5:7]}/{start[8:10]}/{name}",
        "Checksum": [],
        "ContentDate": {"Start": start, "End": start},
        "Footprint": f"geography'SRID=4326;{geometry.wkt}'",
        "GeoFootprint": mapping(geometry),
        "Attributes": [
            {"@odata.type": f"#OData.CSC.{kind}Attribute", "Name": attr, "Value": value, "ValueType": kind}
            for kind, attr, value in attributes
        ],
    }


class FilterError(ValueError):
    """A ``$filter`` the stand-in does not understand (answered as HTTP 400)."""


def split_and(expression: str) -> list[str]:
    """Split on top-level `` and `` (not inside parentheses or quotes)."""
    parts, depth, quoted, start, i = [], 0, False, 0, 0
    while i < len(expression):
        char = expression[i]
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif not quoted and depth == 0 and expression.startswith(" and ", i):
            parts.append(expression[start:i].strip())
            i += 5
            start = i
            continue
        i += 1
    parts.append(expression[start:].strip())
    return [p for p in parts if p]


_COMPARE = {
    "eq": lambda a, b: a == b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}
_CLAUSES = [
    ("collection", re.compile(r"^Collection/Name eq '([^']+)'$")),
    (
        "attribute",
        re.compile(
            r"^Attributes/OData\.CSC\.(String|Double|Integer)Attribute/any\(att:att/Name eq '([^']+)' and "
            r"att/OData\.CSC\.(?:String|Double|Integer)Attribute/Value (eq|lt|le|gt|ge) ('[^']*'|-?[\d.]+)\)$"
        ),
    ),
    ("date", re.compile(r"^ContentDate/(Start|End) (eq|lt|le|gt|ge) (\d{4}-\d\d-\d\dT[\d:.]+Z)$")),
    ("intersects", re.compile(r"^OData\.CSC\.Intersects\(area=geography'SRID=4326;(.+)'\)$")),
    ("online", re.compile(r"^Online eq (true|false)$")),
    ("name", re.compile(r"^Name eq '([^']+)'$")),
]


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def compile_filter(expression: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate over catalogue entries for an OData ``$filter`` expression.

    Raises
    ------
    FilterError
        For a clause outside the subset the stand-in knows (the one the book's client sends).
    """
    tests = []
    for clause in split_and(expression):
        for kind, pattern in _CLAUSES:  # noqa: B007 - kind is used after the loop
            match = pattern.match(clause)
            if match:
                break
        else:
            raise FilterError(f"Invalid filter clause: {clause}")
        groups = match.groups()
        if kind == "collection":
            tests.append(lambda e, v=groups[0]: v == "SENTINEL-2" and e["Name"].startswith("S2"))
        elif kind == "attribute":
            _, name, op, raw = groups
            value: Any = raw.strip("'") if raw.startswith("'") else float(raw)

            def test(entry: dict[str, Any], name: str = name, op: str = op, value: Any = value) -> bool:
                for attribute in entry["Attributes"]:
                    if attribute["Name"] == name:
                        return _COMPARE[op](attribute["Value"], value)
                return False

            tests.append(test)
        elif kind == "date":
            field, op, when = groups
            moment = _instant(when)
            tests.append(lambda e, f=field, o=op, w=moment: _COMPARE[o](_instant(e["ContentDate"][f]), w))
        elif kind == "intersects":
            try:
                area = shapely.from_wkt(groups[0])
            except Exception as exc:  # noqa: BLE001
                raise FilterError(f"Invalid WKT in Intersects: {exc}") from None
            tests.append(lambda e, a=area: shape(e["GeoFootprint"]).intersects(a))
        elif kind == "online":
            tests.append(lambda e, v=groups[0] == "true": bool(e["Online"]) == v)
        elif kind == "name":
            tests.append(lambda e, v=groups[0]: e["Name"] == v)
    return lambda entry: all(t(entry) for t in tests)


class ODataCatalogue:
    """The catalogue and download service over a fixed list of products."""

    def __init__(
        self,
        products: list[dict[str, Any]],
        issuer: TokenIssuer | None = None,
        payloads: dict[str, bytes] | None = None,
        next_links: bool = True,
    ) -> None:
        self.products = list(products)
        self.issuer = issuer or TokenIssuer()
        self.payloads = dict(payloads or {})
        self.next_links = next_links
        self.queries: list[dict[str, str]] = []
        self.downloads: list[str] = []

    async def search(self, request: Request) -> Response:
        """``GET /odata/v1/Products``: the matching entries, paged by ``$top``/``$skip`` with next links."""
        params = dict(request.query_params)
        self.queries.append(params)
        try:
            top = int(params.get("$top", DEFAULT_TOP))
            skip = int(params.get("$skip", 0))
        except ValueError:
            return _error(400, "$top and $skip must be integers")
        if not 0 <= top <= MAX_TOP:
            return _error(400, f"$top must be between 0 and {MAX_TOP}")
        try:
            keep = compile_filter(params["$filter"]) if "$filter" in params else (lambda e: True)
        except FilterError as exc:
            return _error(400, str(exc))
        matches = [p for p in self.products if keep(p)]
        order = params.get("$orderby", "")
        if order:
            field, _, direction = order.partition(" ")
            key = {"ContentDate/Start": lambda e: e["ContentDate"]["Start"], "Name": lambda e: e["Name"]}.get(
                field
            )
            if key is None:
                return _error(400, f"Invalid $orderby {order}")
            matches.sort(key=key, reverse=direction.strip() == "desc")
        expand = "Attributes" in params.get("$expand", "")
        page = [
            p if expand else {k: v for k, v in p.items() if k != "Attributes"}
            for p in matches[skip : skip + top]
        ]
        body: dict[str, Any] = {
            "@odata.context": "$metadata#Products" + ("(Attributes())" if expand else ""),
            "value": page,
        }
        if self.next_links and skip + top < len(matches):
            body["@odata.nextLink"] = str(request.url.include_query_params(**{"$skip": skip + top}))
        return JSONResponse(body)

    async def download(self, request: Request) -> Response:
        """``GET /odata/v1/Products(<id>)/$value``: the product's zip, for a valid bearer token."""
        product_id = request.path_params["product_id"]
        if not self.issuer.check(request.headers.get("authorization")):
            return JSONResponse({"detail": "Expired signature!"}, status_code=401)
        if product_id not in self.payloads:
            return JSONResponse({"detail": f"Product {product_id} not found"}, status_code=404)
        self.downloads.append(product_id)
        content = self.payloads[product_id]

        async def chunks() -> AsyncIterator[bytes]:
            for offset in range(0, len(content), 64 * 1024):
                yield content[offset : offset + 64 * 1024]

        return StreamingResponse(
            chunks(), media_type="application/zip", headers={"Content-Length": str(len(content))}
        )

    def app(self) -> Starlette:
        """The ASGI app of the catalogue and the download service."""
        return Starlette(
            routes=[
                Route("/odata/v1/Products", self.search, methods=["GET"]),
                Route("/odata/v1/Products({product_id})/$value", self.download, methods=["GET"]),
            ]
        )


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": {"message": message}}, status_code=status)
