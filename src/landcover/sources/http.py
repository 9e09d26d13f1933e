"""Shared plumbing of the service clients: the online switch, sessions, error messages.

Every client takes its service URL as a parameter (the real one by default), so
the same code talks to Copernicus or to a local stand-in on 127.0.0.1. Only the
first needs the reader's consent: :func:`require_online` lets loopback
addresses through and refuses anything else unless ``LANDCOVER_ONLINE=1``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests

from landcover.config import ONLINE_VARIABLE, online_allowed
from landcover.errors import OnlineAccessDisabled

#: Seconds to wait for a service to answer (connect, read).
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 120.0)
USER_AGENT = "landcover-book/0.1 (+https://github.com/; Sentinel-2 land-cover tutorial)"

_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def is_loopback(url: str) -> bool:
    """True when ``url`` points at this machine (a stand-in), so no consent is needed."""
    host = (urlsplit(url).hostname or "").lower()
    return host in _LOOPBACK_HOSTS or host.startswith("127.")


def require_online(url: str, what: str = "this service") -> None:
    """Refuse to contact a non-local ``url`` unless the reader opted in.

    Raises :class:`~landcover.errors.OnlineAccessDisabled` naming the URL
    and the setting that allows it.
    """
    if is_loopback(url) or online_allowed():
        return
    raise OnlineAccessDisabled(
        f"{what} at {url} is on the internet and online access is off; "
        f"set {ONLINE_VARIABLE}=1 (environment or .env) to allow it"
    )


def new_session() -> requests.Session:
    """A ``requests`` session with the book's User-Agent."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return session


class ServiceError(requests.HTTPError):
    """A service answered with an error; the message carries its status and explanation."""

    def __init__(
        self, message: str, status: int | None = None, response: requests.Response | None = None
    ) -> None:
        super().__init__(message, response=response)
        self.status = status


def describe_error(response: requests.Response, limit: int = 400) -> str:
    """A short, readable account of a failed response (JSON error fields when present)."""
    detail = ""
    try:
        payload = response.json()
    except ValueError:
        detail = response.text[:limit].strip()
    else:
        if isinstance(payload, dict):
            error = payload.get("error", payload)
            if isinstance(error, dict):
                detail = str(error.get("message") or error.get("description") or error.get("detail") or error)
                if "error_description" in payload:
                    detail = f"{payload.get('error')}: {payload['error_description']}"
            else:
                detail = str(payload.get("error_description") or error)
        else:
            detail = str(payload)[:limit]
    return f"HTTP {response.status_code} from {response.url}: {detail[:limit]}"


def check_response(response: requests.Response, what: str) -> requests.Response:
    """Raise :class:`ServiceError` with the service's own explanation on an HTTP error."""
    if response.status_code >= 400:
        raise ServiceError(
            f"{what} failed: {describe_error(response)}", status=response.status_code, response=response
        )
    return response
