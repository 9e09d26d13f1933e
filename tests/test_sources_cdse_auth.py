"""CDSE tokens: the grants, renewal before expiry, and a retry after a 401."""

from __future__ import annotations

import pytest

from landcover.errors import OnlineAccessDisabled
from landcover.sources import cdse_auth
from landcover.sources.sentinelhub import PROCESS_PATH
from landcover.sources.standins import TOKEN_PATH, SentinelHub, TokenIssuer, serve

pytestmark = pytest.mark.network


class FakeClock:
    """A clock the test moves by hand, shared by the client and the stand-in."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def services():
    clock = FakeClock()
    issuer = TokenIssuer(expires_in=600, refresh_expires_in=3600, clock=clock)
    hub = SentinelHub(issuer=issuer)
    with serve(issuer.app()) as identity, serve(hub.app()) as sh:
        yield issuer, clock, identity + TOKEN_PATH, sh


def _ping(session, sh_url):
    """A cheap authenticated call: an empty catalog search."""
    return session.post(
        sh_url + "/api/v1/catalog/1.0.0/search",
        json={"collections": ["sentinel-2-l2a"], "datetime": "2021-01-01T00:00:00Z/2021-01-02T00:00:00Z"},
    )


def test_client_credentials_token_is_sent_and_reused(services):
    issuer, clock, token_url, sh = services
    provider = cdse_auth.ClientCredentials("test-client", "test-secret", token_url=token_url, clock=clock)
    session = cdse_auth.authorized_session(provider)
    assert _ping(session, sh).status_code == 200
    assert _ping(session, sh).status_code == 200
    assert issuer.grants == ["client_credentials"]  # one token for both calls


def test_token_is_renewed_shortly_before_it_expires(services):
    issuer, clock, token_url, sh = services
    provider = cdse_auth.ClientCredentials("test-client", "test-secret", token_url=token_url, clock=clock)
    session = cdse_auth.authorized_session(provider)
    assert _ping(session, sh).status_code == 200
    clock.now += 600 - cdse_auth.EXPIRY_MARGIN_S - 1  # still fresh
    assert _ping(session, sh).status_code == 200
    assert issuer.grants == ["client_credentials"]
    clock.now += 2  # inside the margin: renewed before the server would refuse it
    assert _ping(session, sh).status_code == 200
    assert issuer.grants == ["client_credentials", "client_credentials"]


def test_password_grant_is_refreshed_with_the_refresh_token(services):
    issuer, clock, token_url, _ = services
    provider = cdse_auth.PasswordCredentials(
        "reader@example.org", "correct horse", token_url=token_url, clock=clock
    )
    first = provider.access_token()
    clock.now += 700  # access token expired, refresh token still valid
    second = provider.access_token()
    assert first != second
    assert issuer.grants == ["password", "refresh_token"]
    clock.now += 4000  # both expired: the password grant again
    provider.access_token()
    assert issuer.grants == ["password", "refresh_token", "password"]


def test_a_401_renews_the_token_and_retries_once(services):
    issuer, clock, token_url, sh = services
    provider = cdse_auth.ClientCredentials("test-client", "test-secret", token_url=token_url, clock=clock)
    session = cdse_auth.authorized_session(provider)
    assert _ping(session, sh).status_code == 200
    issuer.revoke_all()  # the server forgets every token
    response = _ping(session, sh)
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    assert issuer.grants == ["client_credentials", "client_credentials"]


def test_refused_credentials_give_the_services_reason(services):
    _, _, token_url, _ = services
    provider = cdse_auth.ClientCredentials("test-client", "wrong", token_url=token_url)
    with pytest.raises(cdse_auth.AuthenticationError, match="Invalid client"):
        provider.access_token()
    user = cdse_auth.PasswordCredentials("reader@example.org", "wrong", token_url=token_url)
    with pytest.raises(cdse_auth.AuthenticationError, match="Invalid user credentials"):
        user.access_token()


def test_credentials_from_env(monkeypatch):
    monkeypatch.delenv(cdse_auth.ENV_CLIENT_ID, raising=False)
    with pytest.raises(ValueError, match="CDSE_CLIENT_ID"):
        cdse_auth.credentials_from_env("client")
    monkeypatch.setenv(cdse_auth.ENV_USERNAME, "me@example.org")
    monkeypatch.setenv(cdse_auth.ENV_PASSWORD, "pw")
    provider = cdse_auth.credentials_from_env("password")
    assert isinstance(provider, cdse_auth.PasswordCredentials) and provider.client_id == "cdse-public"


def test_real_identity_service_needs_the_online_switch():
    provider = cdse_auth.ClientCredentials("id", "secret")
    assert provider.token_url == (
        "https://identity.dataspace.copernicus.eu/auth/realms/CDSE/protocol/openid-connect/token"
    )
    with pytest.raises(OnlineAccessDisabled):
        provider.access_token()


def test_process_path_constant_matches_standin():
    assert PROCESS_PATH == "/api/v1/process"
