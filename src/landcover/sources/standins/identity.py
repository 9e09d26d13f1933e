"""Stand-in for the CDSE identity service (Keycloak token endpoint).

``POST /auth/realms/CDSE/protocol/openid-connect/token`` with a form, as the real
one: ``grant_type`` ``client_credentials`` (``client_id`` + ``client_secret``),
``password`` (``username`` + ``password`` + ``client_id=cdse-public``) or
``refresh_token``. Answers ``access_token``, ``expires_in``, ``token_type`` and,
for the password grant, ``refresh_token`` / ``refresh_expires_in``; refusals are
HTTP 401 ``{"error": "invalid_grant", "error_description": ...}`` (400 for a bad
request), like Keycloak. Other stand-ins ask :meth:`TokenIssuer.check` whether a
bearer token is valid.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

TOKEN_PATH = "/auth/realms/CDSE/protocol/openid-connect/token"


class TokenIssuer:
    """Issues and checks tokens; counts grants so tests can see renewals.

    ``clients`` maps client ids to secrets, ``users`` user names to passwords;
    lifetimes are in seconds of ``clock`` (a test can pass a fake clock to expire tokens).
    """

    def __init__(
        self,
        clients: dict[str, str] | None = None,
        users: dict[str, str] | None = None,
        expires_in: int = 600,
        refresh_expires_in: int = 3600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clients = dict(clients or {"test-client": "test-secret"})
        self.users = dict(users or {"reader@example.org": "correct horse"})
        self.expires_in = expires_in
        self.refresh_expires_in = refresh_expires_in
        self.clock = clock
        self.grants: list[str] = []
        self._access: dict[str, float] = {}
        self._refresh: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def check(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header carries a valid, unexpired bearer token (for the other stand-ins)."""
        if not authorization or not authorization.startswith("Bearer "):
            return False
        token = authorization[len("Bearer ") :]
        with self._lock:
            expiry = self._access.get(token)
        return expiry is not None and self.clock() < expiry

    def revoke_all(self) -> None:
        """Invalidate every access token (as after a server restart)."""
        with self._lock:
            self._access.clear()

    def _issue(self, grant: str, user: str | None) -> dict:
        now = self.clock()
        token = secrets.token_urlsafe(24)
        answer = {
            "access_token": token,
            "expires_in": self.expires_in,
            "token_type": "Bearer",
            "not-before-policy": 0,
            "scope": "profile email",
        }
        with self._lock:
            self._access[token] = now + self.expires_in
            self.grants.append(grant)
            if user is not None:
                refresh = secrets.token_urlsafe(24)
                self._refresh[refresh] = (user, now + self.refresh_expires_in)
                answer["refresh_token"] = refresh
                answer["refresh_expires_in"] = self.refresh_expires_in
            else:
                answer["refresh_expires_in"] = 0
        return answer

    async def token(self, request: Request) -> JSONResponse:
        """The token endpoint: a grant answered with tokens, or refused as Keycloak refuses it."""
        # Parsed by hand: Starlette's form parser needs python-multipart, which the project does not use.
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode()).items()}
        grant = form.get("grant_type")
        if grant == "client_credentials":
            client_id, secret = form.get("client_id"), form.get("client_secret")
            if not client_id or self.clients.get(str(client_id)) != secret:
                return _refuse(401, "unauthorized_client", "Invalid client or Invalid client credentials")
            return JSONResponse(self._issue("client_credentials", None))
        if grant == "password":
            if form.get("client_id") != "cdse-public":
                return _refuse(401, "unauthorized_client", "Invalid client or Invalid client credentials")
            user, password = str(form.get("username", "")), form.get("password")
            if self.users.get(user) != password:
                return _refuse(401, "invalid_grant", "Invalid user credentials")
            return JSONResponse(self._issue("password", user))
        if grant == "refresh_token":
            with self._lock:
                entry = self._refresh.get(str(form.get("refresh_token", "")))
            if entry is None or self.clock() >= entry[1]:
                return _refuse(400, "invalid_grant", "Invalid refresh token")
            return JSONResponse(self._issue("refresh_token", entry[0]))
        return _refuse(400, "unsupported_grant_type", f"Unsupported grant_type {grant!r}")

    def app(self) -> Starlette:
        """The ASGI app answering at :data:`TOKEN_PATH`."""
        return Starlette(routes=[Route(TOKEN_PATH, self.token, methods=["POST"])])


def _refuse(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)
