"""The auth service process: `python -m services.auth`."""

from __future__ import annotations

import asyncio
import logging
import time

from chirp.auth.v1 import auth_service_pb2_grpc
from chirp.user.v1.user_service_pb2_grpc import UserServiceStub

from services.auth.keyring import KeyRing
from services.auth.passwords import Passwords
from services.auth.service import AuthService
from services.auth.settings import AuthSettings
from services.auth.store import MIGRATIONS, AuthStore
from services.auth.throttle import LockoutPolicy, LoginThrottle
from services.kit.server import Runtime, run

log = logging.getLogger(__name__)

# Expired refresh tokens and forgotten failure counts are only dead weight: an hourly sweep is plenty.
_SWEEP_INTERVAL_S = 3600.0


async def setup(rt: Runtime[AuthSettings]) -> None:
    settings = rt.settings
    store = AuthStore(await rt.database("auth", MIGRATIONS))
    keyring = KeyRing(
        store,
        rotation=settings.auth_key_rotation,
        publish_ahead=settings.auth_key_publish_ahead,
        token_ttl=settings.auth_access_token_ttl,
    )
    await keyring.refresh()
    lockout = {
        "first_lock": settings.auth_login_first_lock,
        "longest_lock": settings.auth_login_longest_lock,
        "memory": settings.auth_login_failure_memory,
    }
    throttle = LoginThrottle(
        store,
        account=LockoutPolicy(max_failures=settings.auth_login_max_failures_per_account, **lockout),
        address=LockoutPolicy(max_failures=settings.auth_login_max_failures_per_address, **lockout),
    )
    service = AuthService(
        store=store,
        passwords=Passwords(time_cost=settings.auth_argon2_time_cost, memory_kib=settings.auth_argon2_memory_kib),
        keyring=keyring,
        throttle=throttle,
        users=rt.stub(UserServiceStub),
        access_ttl=settings.auth_access_token_ttl,
        refresh_ttl=settings.auth_refresh_token_ttl,
    )
    auth_service_pb2_grpc.add_AuthServiceServicer_to_server(service, rt.server)
    rt.add_service("chirp.auth.v1.AuthService")
    rt.spawn(keyring.keep_fresh(every=settings.auth_key_check_interval), name="auth-keys")
    rt.spawn(_sweep(store, throttle), name="auth-sweep")


async def _sweep(store: AuthStore, throttle: LoginThrottle) -> None:
    while True:
        await asyncio.sleep(_SWEEP_INTERVAL_S)
        try:
            tokens = await store.prune_refresh_tokens(now=time.time())
            counts = await throttle.forget_old()
            log.info("swept %d expired refresh tokens and %d old failure counts", tokens, counts)
        except Exception:
            log.exception("sweeping the auth store failed; retrying in %gs", _SWEEP_INTERVAL_S)


if __name__ == "__main__":
    run("auth", setup, settings_cls=AuthSettings)
