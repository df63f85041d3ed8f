from __future__ import annotations

import jwt
import pytest

from services.auth import keys
from services.auth.passwords import PasswordPolicyError, check_policy
from services.auth.tokens import ISSUER, hash_refresh_token, new_refresh_token, sign_access_token


def test_an_access_token_verifies_against_its_published_jwk() -> None:
    key = keys.generate_key(now=1000.0)
    token = sign_access_token(key, user_id=42, now=1000.0, ttl=900)
    public = jwt.PyJWK(key.jwk())
    claims = jwt.decode(token, public, algorithms=[keys.ALGORITHM], issuer=ISSUER, options={"verify_exp": False})
    assert claims["sub"] == "42"
    assert claims["exp"] - claims["iat"] == 900
    assert jwt.get_unverified_header(token)["kid"] == key.kid


def test_a_retired_key_stays_published_for_one_token_lifetime() -> None:
    old = keys.SigningKey(kid="old", private_key=keys.generate_key().private_key, created_at=0, retired_at=100)
    new = keys.generate_key(now=100)
    assert [k.kid for k in keys.published([old, new], token_ttl=900, now=500)] == ["old", new.kid]
    assert [k.kid for k in keys.published([old, new], token_ttl=900, now=1001)] == [new.kid]


def test_a_signing_key_survives_its_pem_round_trip() -> None:
    key = keys.generate_key()
    again = keys.SigningKey.from_pem(kid=key.kid, pem=key.private_pem, created_at=key.created_at, retired_at=None)
    assert again.jwk() == key.jwk()


def test_refresh_tokens_are_stored_only_as_hashes() -> None:
    fresh = new_refresh_token()
    assert fresh.token_hash == hash_refresh_token(fresh.token)
    assert fresh.token not in fresh.token_hash


@pytest.mark.parametrize(
    ("password", "problem"),
    [("short", "8 to 128"), ("alice_rules", None), ("aliceliddell", "username"), ("aaaaaaaaaa", "different")],
)
def test_password_policy(password: str, problem: str | None) -> None:
    if problem is None:
        check_policy(password, username="aliceliddell", email="alice@example.com")
        return
    with pytest.raises(PasswordPolicyError, match=problem):
        check_policy(password, username="aliceliddell", email="alice@example.com")
