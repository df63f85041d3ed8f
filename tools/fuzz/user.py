"""The fuzz run's user: signed up and logged in through the REST API as a client would, its session refreshed
before the access token expires; and a check that the edge never refuses that user's token."""

from __future__ import annotations

import json
import threading
import uuid

import httpx
import schemathesis

from tools.fuzz.garble import Case

__all__ = ["TOKEN_REFRESH_SECONDS", "ChirpUser", "edge_accepts_the_token"]

# Well within the access token's lifetime (15 minutes by default).
TOKEN_REFRESH_SECONDS = 300
_PASSWORD = "a perfectly fine passphrase"
_BEARER = "Bearer "
# Every access token a ChirpUser handed out, for edge_accepts_the_token.
_ISSUED: set[str] = set()


class ChirpUser:
    """A Schemathesis auth provider: a user of its own, signed up and logged in on first use; each later
    `get` refreshes the session. The refresh token is the credential from then on: logging in again could be
    locked out by the fuzzer's own failed log-ins, which count against the client address it shares."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # a refresh token works once: one refresh at a time
        self._refresh_token: str | None = None

    def get(self, case: Case, context: schemathesis.AuthContext) -> str:
        base_url = context.operation.base_url or context.operation.schema.get_base_url()
        with self._lock, httpx.Client(base_url=base_url, timeout=30) as client:
            if self._refresh_token is None:
                session = _sign_up(client)
            else:
                session = client.post("/v1/sessions:refresh", json={"refresh_token": self._refresh_token})
            session.raise_for_status()
            tokens = session.json()
            self._refresh_token = tokens["refresh_token"]
            token: str = tokens["access_token"]
            _ISSUED.add(token)
            return token

    def set(self, case: Case, data: str, context: schemathesis.AuthContext) -> None:
        case.headers["Authorization"] = _BEARER + data


def _sign_up(client: httpx.Client) -> httpx.Response:
    username = f"fz{uuid.uuid4().hex[:13]}"
    account = {"username": username, "email": f"{username}@example.com", "password": _PASSWORD}
    client.post("/v1/accounts", json=account).raise_for_status()
    return client.post("/v1/sessions", json={"login": username, "password": _PASSWORD})


def edge_accepts_the_token(ctx: schemathesis.CheckContext, response: schemathesis.Response, case: Case) -> None:
    """A check: the edge never refuses the user's own token (a run whose session broke would go on, checking
    401s). A service's 401 (a wrong password) is an answer like any other."""
    header = response.request.headers.get("Authorization", "")
    sent = header.decode("latin-1") if isinstance(header, bytes) else header
    if response.status_code != 401 or sent.removeprefix(_BEARER) not in _ISSUED:
        return
    try:
        message = str(json.loads(response.content)["message"])
    except (ValueError, KeyError, TypeError):
        message = response.text
    # jwt_authn's own refusals: "Jwt is expired", "Jwt verification fails", "Jwks remote fetch is failed".
    if message.startswith(("Jwt", "Jwks")):
        raise AssertionError(f"the edge refused the fuzz user's access token: {message}")
