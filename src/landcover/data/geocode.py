"""Turn a place name into WGS84 coordinates: Nominatim when online, a small gazetteer offline.

Nominatim (OpenStreetMap) is only called when the reader opted in with
``LANDCOVER_ONLINE=1``. Otherwise the places the book uses are looked up in a
table shipped with the package, so every chapter runs without the internet.
"""

from __future__ import annotations

import os
import threading
import time
import unicodedata
from urllib.parse import urlsplit

from landcover.config import ONLINE_VARIABLE, online_allowed
from landcover.errors import GeocodingError

#: Base URL of the Nominatim service; ``LANDCOVER_NOMINATIM_URL`` overrides it (tests use a stand-in).
NOMINATIM_URL = "https://nominatim.openstreetmap.org"
NOMINATIM_URL_VARIABLE = "LANDCOVER_NOMINATIM_URL"
#: Nominatim's usage policy asks for an identifying User-Agent and at most one request a second.
USER_AGENT = "landcover-book/0.1 (Sentinel-2 land-cover tutorial for official statistics)"
_PUBLIC_HOST = "nominatim.openstreetmap.org"
_MIN_INTERVAL_S = 1.0

#: Offline gazetteer: (longitude, latitude) in WGS84 degrees of the places the book uses.
GAZETTEER: dict[str, tuple[float, float]] = {
    # Luxembourg (LU000)
    "Luxembourg": (6.1296, 49.6116),
    "Eurostat": (6.1695145, 49.6335945),
    "5, rue Alphonse Weicker Luxembourg": (6.1695145, 49.6335945),
    "Esch-sur-Alzette": (5.9806, 49.4958),
    "Diekirch": (6.1594, 49.8686),
    "Ettelbruck": (6.0986, 49.8475),
    "Differdange": (5.8914, 49.5242),
    "Dudelange": (6.0875, 49.4806),
    # Brussels-Capital Region (BE100)
    "Brussels": (4.3517, 50.8466),
    "Ixelles": (4.3719, 50.8333),
    # Innsbruck (AT332)
    "Innsbruck": (11.3928, 47.2692),
    "Hall in Tirol": (11.5058, 47.2833),
    # Medio Tejo (PT16I)
    "Tomar": (-8.4092, 39.6019),
    "Abrantes": (-8.1977, 39.4636),
    "Torres Novas": (-8.5398, 39.4810),
    "Entroncamento": (-8.4688, 39.4650),
    # Capitals, for examples outside the synthetic regions
    "Paris": (2.3522, 48.8566),
    "Lisbon": (-9.1393, 38.7223),
    "Vienna": (16.3738, 48.2082),
    "Berlin": (13.4050, 52.5200),
    "Madrid": (-3.7038, 40.4168),
    "Rome": (12.4964, 41.9028),
    "Amsterdam": (4.9041, 52.3676),
    "Warsaw": (21.0122, 52.2297),
    "Prague": (14.4378, 50.0755),
    "Copenhagen": (12.5683, 55.6761),
    "Stockholm": (18.0686, 59.3293),
    "Helsinki": (24.9384, 60.1699),
    "Dublin": (-6.2603, 53.3498),
    "Athens": (23.7275, 37.9838),
    "Ljubljana": (14.5058, 46.0569),
    "Bratislava": (17.1077, 48.1486),
    "Zagreb": (15.9819, 45.8150),
    "Tallinn": (24.7536, 59.4370),
    "Riga": (24.1052, 56.9496),
    "Vilnius": (25.2797, 54.6872),
    "Valletta": (14.5146, 35.8989),
    "Bucharest": (26.1025, 44.4268),
    "Sofia": (23.3219, 42.6977),
    "Nicosia": (33.3823, 35.1856),
    "London": (-0.1276, 51.5072),
}

#: Other spellings of gazetteer entries.
ALIASES: dict[str, str] = {
    "Luxembourg City": "Luxembourg",
    "Luxembourg-Ville": "Luxembourg",
    "Luxemburg": "Luxembourg",
    "Letzebuerg": "Luxembourg",
    "Esch": "Esch-sur-Alzette",
    "Bruxelles": "Brussels",
    "Brussel": "Brussels",
    "Wien": "Vienna",
    "Lisboa": "Lisbon",
    "Roma": "Rome",
    "Warszawa": "Warsaw",
    "Praha": "Prague",
    "København": "Copenhagen",
    "Athina": "Athens",
    "Bucuresti": "Bucharest",
}


def _normalise(name: str) -> str:
    """Case-, accent- and punctuation-insensitive key (``"Lëtzebuerg"`` -> ``"letzebuerg"``)."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    cleaned = "".join(c if c.isalnum() else " " for c in plain.casefold())
    return " ".join(cleaned.split())


_INDEX: dict[str, str] = {_normalise(k): k for k in GAZETTEER}
_INDEX.update({_normalise(alias): target for alias, target in ALIASES.items()})


def offline_lookup(place: str) -> tuple[float, float] | None:
    """``(lon, lat)`` from the offline gazetteer, or ``None``.

    ``"Brussels, Belgium"`` also matches ``Brussels``: after the whole name, the
    part before the first comma is tried.
    """
    key = _normalise(place)
    if key in _INDEX:
        return GAZETTEER[_INDEX[key]]
    head = _normalise(place.split(",", 1)[0])
    if head in _INDEX:
        return GAZETTEER[_INDEX[head]]
    return None


def nominatim_url() -> str:
    """The Nominatim base URL in use (``LANDCOVER_NOMINATIM_URL`` or the public service)."""
    return (os.environ.get(NOMINATIM_URL_VARIABLE, "").strip() or NOMINATIM_URL).rstrip("/")


_last_call = 0.0
_throttle_lock = threading.Lock()


def _respect_rate_limit(url: str) -> None:
    """At most one request a second to the public Nominatim, as its policy asks."""
    global _last_call
    if urlsplit(url).hostname != _PUBLIC_HOST:
        return
    with _throttle_lock:
        wait = _last_call + _MIN_INTERVAL_S - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        _last_call = time.monotonic()


def nominatim_search(place: str, base_url: str | None = None, timeout: float = 10.0) -> tuple[float, float]:
    """Ask Nominatim for ``place``; returns ``(lon, lat)`` of the best match.

    Always goes online: callers check :func:`landcover.config.online_allowed` first.
    """
    import requests

    endpoint = (base_url or nominatim_url()).rstrip("/")
    if not endpoint.endswith("/search"):
        endpoint += "/search"
    _respect_rate_limit(endpoint)
    try:
        response = requests.get(
            endpoint,
            params={"q": place, "format": "jsonv2", "limit": 1},
            headers={"User-Agent": USER_AGENT, "Accept-Language": "en"},
            timeout=timeout,
        )
    except requests.RequestException as exc:
        raise GeocodingError(f"could not reach Nominatim at {endpoint} for place={place!r}: {exc}") from exc
    if response.status_code != 200:
        raise GeocodingError(
            f"Nominatim at {endpoint} answered HTTP {response.status_code} for place={place!r}"
        )
    try:
        results = response.json()
    except ValueError as exc:
        raise GeocodingError(f"Nominatim at {endpoint} did not return JSON for place={place!r}") from exc
    if not isinstance(results, list) or not results:
        raise GeocodingError(f"Nominatim found no place matching place={place!r}")
    try:
        return float(results[0]["lon"]), float(results[0]["lat"])
    except (KeyError, TypeError, ValueError) as exc:
        raise GeocodingError(
            f"Nominatim's answer for place={place!r} has no usable lon/lat: {results[0]!r}"
        ) from exc


def geocode(place: str, timeout: float = 10.0) -> tuple[float, float]:
    """``(lon, lat)`` in WGS84 degrees for a place name.

    Online (``LANDCOVER_ONLINE=1``): Nominatim's best match. Offline (the
    default): the package gazetteer :data:`GAZETTEER`.

    Raises
    ------
    landcover.errors.GeocodingError
        If the place is unknown (offline, the message says how to go online)
        or Nominatim cannot be reached or finds nothing.
    """
    if not isinstance(place, str) or not place.strip():
        raise ValueError(f"place={place!r} must be a non-empty place name")
    if online_allowed():
        return nominatim_search(place, timeout=timeout)
    found = offline_lookup(place)
    if found is None:
        raise GeocodingError(
            f"place={place!r} is not in the offline gazetteer ({len(GAZETTEER)} places, e.g. "
            f"{', '.join(list(GAZETTEER)[:5])}, ...). Set {ONLINE_VARIABLE}=1 (environment or .env) "
            "to ask OpenStreetMap's Nominatim service instead."
        )
    return found
