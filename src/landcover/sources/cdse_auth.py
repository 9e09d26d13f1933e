"""Access tokens of the Copernicus Data Space Ecosystem (CDSE), kept fresh.

CDSE's identity service (Keycloak) hands out short-lived bearer tokens:

- Sentinel Hub (Catalog, Processing) uses an OAuth *client*: ``grant_type=client_credentials``
  with the client id and secret registered in the CDSE dashboard
  (:class:`ClientCredentials`).
- OData downloads use the *account*: ``grant_type=password`` with the public
  client ``cdse-public`` (:class:`PasswordCredentials`); the answer also holds a
  refresh token, used before asking for the password grant again.

:func:`authorized_session` returns a plain ``requests.Session`` that adds the
token to every request, renews it shortly before it expires, and retries a
request once if the service answers 401 (token revoked or expired early).
Plain ``requests`` does all this; no OAuth library is needed.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypedDict, Unpack

import requests

from landcover.sources.http import DEFAULT_TIMEOUT, ServiceError, check_response, new_session, require_online

#: The CDSE token endpoint (Keycloak realm ``CDSE``).
TOKEN_URL = "https://identity.dataspace.copernicus.eu/auth/realms/CDSE/protocol/openid-connect/token"
#: Public client id for the password grant (no secret).
PUBLIC_CLIENT_ID = "cdse-public"
#: Renew a token this many seconds before the server says it expires.
EXPIRY_MARGIN_S = 30.0

# Environment variables read by :func:`credentials_from_env`.
ENV_CLIENT_ID = "CDSE_CLIENT_ID"
ENV_CLIENT_SECRET = "CDSE_CLIENT_SECRET"
ENV_USERNAME = "CDSE_USERNAME"
ENV_PASSWORD = "CDSE_PASSWORD"


class ProviderOptions(TypedDict, total=False):
    """Optional keyword arguments of :class:`TokenProvider`, passed on by its subclasses."""

    session: requests.Session | None
    clock: Callable[[], float]
    margin: float
    timeout: tuple[float, float]


class AuthenticationError(ServiceError):
    """The identity service refused the credentials (wrong id, secret or password)."""


@dataclass(frozen=True)
class Token:
    """A bearer token and when it stops being valid (``clock()`` seconds)."""

    access_token: str
    expires_at: float
    refresh_token: str | None = None
    refresh_expires_at: float | None = None

    def fresh(self, now: float, margin: float = EXPIRY_MARGIN_S) -> bool:
        """Whether the token can still be sent for at least ``margin`` seconds."""
        return now < self.expires_at - margin

    def refreshable(self, now: float, margin: float = EXPIRY_MARGIN_S) -> bool:
        """Whether the refresh token can still be exchanged."""
        if not self.refresh_token:
            return False
        return self.refresh_expires_at is None or now < self.refresh_expires_at - margin


class TokenProvider:
    """Fetches and caches a token; :meth:`access_token` always returns a usable one.

    Subclasses say which form fields to send (:meth:`_grant`). ``clock`` is
    injectable so that expiry can be tested without waiting.
    """

    def __init__(
        self,
        token_url: str = TOKEN_URL,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        margin: float = EXPIRY_MARGIN_S,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self.token_url = token_url
        self._session = session or new_session()
        self._clock = clock
        self._margin = margin
        self._timeout = timeout
        self._token: Token | None = None
        self._lock = threading.Lock()

    # -- what subclasses provide -------------------------------------------------
    def _grant(self) -> dict[str, str]:
        raise NotImplementedError

    # -- public ------------------------------------------------------------------
    def access_token(self) -> str:
        """A token valid for at least the margin, renewed when needed."""
        with self._lock:
            now = self._clock()
            token = self._token
            if token is not None and token.fresh(now, self._margin):
                return token.access_token
            if token is not None and token.refreshable(now, self._margin):
                try:
                    self._token = self._request(
                        {
                            "grant_type": "refresh_token",
                            "refresh_token": token.refresh_token or "",
                            **self._client_fields(),
                        }
                    )
                    return self._token.access_token
                except AuthenticationError:
                    pass  # refresh token revoked: fall back to the full grant
            self._token = self._request(self._grant())
            return self._token.access_token

    def invalidate(self) -> None:
        """Forget the cached token (after a 401), so the next call fetches a new one."""
        with self._lock:
            self._token = None

    # -- helpers -----------------------------------------------------------------
    def _client_fields(self) -> dict[str, str]:
        return {}

    def _request(self, fields: dict[str, str]) -> Token:
        require_online(self.token_url, "the CDSE identity service")
        now = self._clock()
        response = self._session.post(self.token_url, data=fields, timeout=self._timeout)
        if response.status_code in (400, 401, 403):
            raise AuthenticationError(
                f"CDSE token request ({fields.get('grant_type')}) was refused: " + check_message(response),
                status=response.status_code,
                response=response,
            )
        check_response(response, "CDSE token request")
        payload = response.json()
        if "access_token" not in payload:
            raise ServiceError(f"token answer from {self.token_url} has no 'access_token': {payload!r:.200}")
        refresh_in = payload.get("refresh_expires_in")
        return Token(
            access_token=payload["access_token"],
            expires_at=now + float(payload.get("expires_in", 300)),
            refresh_token=payload.get("refresh_token"),
            refresh_expires_at=(now + float(refresh_in)) if refresh_in else None,
        )


def check_message(response: requests.Response) -> str:
    """``error: error_description`` of a Keycloak refusal, or the raw text."""
    try:
        payload = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    return f"HTTP {response.status_code}: {payload.get('error')}: {payload.get('error_description', '')}"


class ClientCredentials(TokenProvider):
    """OAuth client credentials (Sentinel Hub APIs): client id + secret."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        token_url: str = TOKEN_URL,
        **kwargs: Unpack[ProviderOptions],
    ) -> None:
        if not client_id or not client_secret:
            raise ValueError(
                "client_id and client_secret are both required (register an OAuth client "
                "in the CDSE dashboard)"
            )
        super().__init__(token_url=token_url, **kwargs)
        self.client_id = client_id
        self._client_secret = client_secret

    def _client_fields(self) -> dict[str, str]:
        return {"client_id": self.client_id, "client_secret": self._client_secret}

    def _grant(self) -> dict[str, str]:
        return {"grant_type": "client_credentials", **self._client_fields()}


class PasswordCredentials(TokenProvider):
    """A CDSE account (OData downloads): e-mail + password with the public client."""

    def __init__(
        self,
        username: str,
        password: str,
        client_id: str = PUBLIC_CLIENT_ID,
        token_url: str = TOKEN_URL,
        **kwargs: Unpack[ProviderOptions],
    ) -> None:
        if not username or not password:
            raise ValueError("username and password of a CDSE account are both required")
        super().__init__(token_url=token_url, **kwargs)
        self.username = username
        self._password = password
        self.client_id = client_id

    def _client_fields(self) -> dict[str, str]:
        return {"client_id": self.client_id}

    def _grant(self) -> dict[str, str]:
        return {
            "grant_type": "password",
            "username": self.username,
            "password": self._password,
            **self._client_fields(),
        }


class BearerAuth(requests.auth.AuthBase):
    """``requests`` auth hook: adds the token; on a 401, renews it and retries once."""

    def __init__(self, provider: TokenProvider) -> None:
        self.provider = provider

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """The request with an ``Authorization: Bearer`` header and the retry-on-401 hook."""
        request.headers["Authorization"] = f"Bearer {self.provider.access_token()}"
        request.register_hook("response", self._retry_on_401)
        return request

    def _retry_on_401(self, response: requests.Response, **kwargs: object) -> requests.Response:
        """Response hook: on a 401, renew the token and send the request once more.

        ``kwargs`` are the options of the original send (timeout, verify...),
        used again for the retry.
        """
        if response.status_code != 401 or getattr(response.request, "_landcover_retried", False):
            return response
        self.provider.invalidate()
        response.content  # noqa: B018 - drain the body so the connection can be reused
        response.close()
        retry = response.request.copy()
        retry._landcover_retried = True  # type: ignore[attr-defined]
        retry.headers["Authorization"] = f"Bearer {self.provider.access_token()}"
        new_response = response.connection.send(retry, **kwargs)
        new_response.history.append(response)
        new_response.request = retry
        return new_response


def authorized_session(provider: TokenProvider) -> requests.Session:
    """A ``requests.Session`` that authenticates every request with ``provider``'s token."""
    session = new_session()
    session.auth = BearerAuth(provider)
    return session


def credentials_from_env(
    kind: str = "client", token_url: str = TOKEN_URL, **kwargs: Unpack[ProviderOptions]
) -> TokenProvider:
    """Build credentials from the environment (or ``.env``).

    ``kind="client"``: ``CDSE_CLIENT_ID`` and ``CDSE_CLIENT_SECRET`` (Sentinel Hub).
    ``kind="password"``: ``CDSE_USERNAME`` and ``CDSE_PASSWORD`` (OData downloads).
    Keyword arguments (``session``, ``clock``, ``margin``, ``timeout``) go to
    the credentials' :class:`TokenProvider`.

    Raises
    ------
    ValueError
        If ``kind`` is unknown or its two variables are not both set.
    """
    if kind == "client":
        client_id, secret = os.environ.get(ENV_CLIENT_ID, ""), os.environ.get(ENV_CLIENT_SECRET, "")
        if not client_id or not secret:
            raise ValueError(
                f"set {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET} (an OAuth client from the "
                "CDSE dashboard) to use Sentinel Hub"
            )
        return ClientCredentials(client_id, secret, token_url=token_url, **kwargs)
    if kind == "password":
        username, password = os.environ.get(ENV_USERNAME, ""), os.environ.get(ENV_PASSWORD, "")
        if not username or not password:
            raise ValueError(
                f"set {ENV_USERNAME} and {ENV_PASSWORD} (your CDSE account) to download products"
            )
        return PasswordCredentials(username, password, token_url=token_url, **kwargs)
    raise ValueError(f"kind={kind!r}: expected 'client' or 'password'")
