"""Signing keys and tokens: JWKs, the key life cycle (published ahead, active, retired, pruned), refresh tokens."""

from __future__ import annotations

import jwt
import pytest

from services.auth import keys
from services.auth.tokens import ISSUER, hash_refresh_token, new_refresh_token, sign_access_token

DAY = 24 * 3600.0
TTL = 900.0


def test_an_access_token_verifies_against_its_published_jwk() -> None:
    key = keys.generate_key(now=1000.0)
    token = sign_access_token(key, user_id=42, now=1000.0, ttl=900)
    public = jwt.PyJWK(key.jwk())
    claims = jwt.decode(token, public, algorithms=[keys.ALGORITHM], issuer=ISSUER, options={"verify_exp": False})
    assert claims["sub"] == "42"
    assert claims["exp"] - claims["iat"] == 900
    assert jwt.get_unverified_header(token)["kid"] == key.kid


def test_a_token_does_not_verify_against_another_key() -> None:
    token = sign_access_token(keys.generate_key(), user_id=42, now=1000.0, ttl=900)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            token, jwt.PyJWK(keys.generate_key().jwk()), algorithms=[keys.ALGORITHM], options={"verify_exp": False}
        )


def _key(kid: str, active_from: float, retired_at: float | None = None) -> keys.SigningKey:
    return keys.SigningKey(
        kid=kid,
        private_key=keys.generate_key().private_key,
        created_at=active_from - 300,
        retired_at=retired_at,
        active_from=active_from,
    )


def test_a_retired_key_stays_published_for_one_token_lifetime() -> None:
    old, new = _key("old", 0, retired_at=100), _key("new", 100)
    assert [k.kid for k in keys.published([old, new], token_ttl=TTL, now=500)] == ["new", "old"]
    assert [k.kid for k in keys.published([old, new], token_ttl=TTL, now=1001)] == ["new"]
    assert keys.prunable([old, new], token_ttl=TTL, now=500) == []
    assert [k.kid for k in keys.prunable([old, new], token_ttl=TTL, now=1001)] == ["old"]


def test_the_next_key_is_published_before_it_signs() -> None:
    current, following = _key("current", 0, retired_at=7 * DAY), _key("next", 7 * DAY)
    ring = [current, following]
    before = 7 * DAY - 60
    assert keys.signing_key(ring, now=before).kid == "current"
    assert [k.kid for k in keys.published(ring, token_ttl=TTL, now=before)] == ["next", "current"]
    after = 7 * DAY
    assert keys.signing_key(ring, now=after).kid == "next"
    assert [k.kid for k in keys.published(ring, token_ttl=TTL, now=after)] == ["next", "current"]


def test_no_key_signs_before_the_first_is_active() -> None:
    with pytest.raises(LookupError):
        keys.signing_key([], now=0)
    with pytest.raises(LookupError):
        keys.signing_key([_key("later", 100)], now=50)


@pytest.mark.parametrize(
    ("ring", "now", "expected"),
    [
        ([], 1000.0, 1000.0),  # the first key: active at once
        ([_key("k", 0)], 7 * DAY - 301, None),  # not due yet
        ([_key("k", 0)], 7 * DAY - 300, 7 * DAY),  # due: published 300 s ahead of its turn
        ([_key("k", 0)], 7 * DAY - 100, 7 * DAY + 200),  # a late check: still a full 300 s ahead
        ([_key("k", 0)], 30 * DAY, 30 * DAY + 300),  # after a long stop: the old key signs 300 s more
        ([_key("k", 0, retired_at=7 * DAY), _key("next", 7 * DAY)], 7 * DAY - 10, None),  # one waits already
    ],
)
def test_when_the_next_key_becomes_active(ring: list[keys.SigningKey], now: float, expected: float | None) -> None:
    assert keys.next_key_activation(ring, now=now, rotation=7 * DAY, publish_ahead=300) == expected


def test_a_signing_key_survives_its_pem_round_trip() -> None:
    key = keys.generate_key()
    again = keys.SigningKey.from_pem(
        kid=key.kid, pem=key.private_pem, created_at=key.created_at, retired_at=None, active_from=key.active_from
    )
    assert again.jwk() == key.jwk()
    assert again.activation == key.activation


def test_refresh_tokens_are_stored_only_as_hashes() -> None:
    fresh = new_refresh_token()
    assert fresh.token_hash == hash_refresh_token(fresh.token)
    assert fresh.token not in fresh.token_hash
    assert new_refresh_token().token != fresh.token
