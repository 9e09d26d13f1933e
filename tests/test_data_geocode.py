"""Geocoding: the offline gazetteer by default, Nominatim (a local stand-in) when opted in."""

from __future__ import annotations

import socket

import pytest

from landcover.data import GAZETTEER, GeocodingError, geocode
from landcover.data.geocode import USER_AGENT, nominatim_url
from landcover.sources.standins.nominatim import nominatim_app


@pytest.mark.parametrize(
    "place, expected",
    [
        ("Luxembourg", GAZETTEER["Luxembourg"]),
        ("  luxembourg CITY ", GAZETTEER["Luxembourg"]),
        ("Lëtzebuerg", GAZETTEER["Luxembourg"]),
        ("Brussels, Belgium", GAZETTEER["Brussels"]),
        ("Bruxelles", GAZETTEER["Brussels"]),
        ("esch sur alzette", GAZETTEER["Esch-sur-Alzette"]),
        ("Wien", GAZETTEER["Vienna"]),
        ("Tomar, Portugal", GAZETTEER["Tomar"]),
        ("5, rue Alphonse Weicker Luxembourg", (6.1695145, 49.6335945)),
    ],
)
def test_offline_gazetteer(place, expected):
    assert geocode(place) == expected


def test_gazetteer_holds_the_book_places_in_europe():
    for name in ["Luxembourg", "Esch-sur-Alzette", "Diekirch", "Brussels", "Innsbruck", "Tomar", "Paris",
                 "Lisbon", "Vienna"]:
        lon, lat = GAZETTEER[name]
        assert -25 < lon < 45 and 34 < lat < 72, name


def test_unknown_place_offline_names_the_setting():
    with pytest.raises(GeocodingError, match=r"'Atlantis'.*LANDCOVER_ONLINE=1"):
        geocode("Atlantis")
    with pytest.raises(ValueError, match="place="):
        geocode("  ")


@pytest.fixture
def nominatim(serve_asgi, monkeypatch):
    server = serve_asgi(nominatim_app({"innsbruck, austria": (11.3927685, 47.2654296),
                                       "atlantis": (-30.0, 35.0)}))
    monkeypatch.setenv("LANDCOVER_NOMINATIM_URL", server.url)
    return server


@pytest.mark.network
def test_online_asks_nominatim_politely(nominatim, monkeypatch):
    monkeypatch.setenv("LANDCOVER_ONLINE", "1")
    assert nominatim_url() == nominatim.url
    assert geocode("Innsbruck, Austria") == (11.3927685, 47.2654296)
    assert geocode("Atlantis") == (-30.0, 35.0)  # online, the gazetteer is not used
    request = nominatim.log.for_path("/search")[0]
    assert request.method == "GET"
    assert request.headers["user-agent"] == USER_AGENT


@pytest.mark.network
def test_online_failures_are_geocoding_errors(nominatim, monkeypatch):
    monkeypatch.setenv("LANDCOVER_ONLINE", "1")
    with pytest.raises(GeocodingError, match="found no place matching place='Nowhere-on-earth'"):
        geocode("Nowhere-on-earth")
    with pytest.raises(GeocodingError, match="HTTP 500"):
        geocode("server error")


@pytest.mark.network
def test_request_parameters(nominatim, monkeypatch):
    """format=jsonv2, limit=1 and the query go out as Nominatim expects."""
    monkeypatch.setenv("LANDCOVER_ONLINE", "1")
    geocode("Innsbruck, Austria")
    (request,) = nominatim.log.for_path("/search")
    assert request.query == {"q": ["Innsbruck, Austria"], "format": ["jsonv2"], "limit": ["1"]}


@pytest.mark.network
def test_offline_never_calls_nominatim(nominatim):
    assert geocode("Innsbruck") == GAZETTEER["Innsbruck"]
    assert nominatim.log.records == []


@pytest.mark.network
def test_unreachable_service(monkeypatch):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("LANDCOVER_NOMINATIM_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("LANDCOVER_ONLINE", "1")
    with pytest.raises(GeocodingError, match=rf"could not reach Nominatim at http://127.0.0.1:{port}/search"):
        geocode("Tomar", timeout=2)
