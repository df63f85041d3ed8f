"""The Schemathesis hooks of the fuzz run, registered on import (SCHEMATHESIS_HOOKS=tools.fuzz.hooks): the
garbled text parameters (tools/fuzz/garble.py), the signed-up user and its check (tools/fuzz/user.py)."""

from __future__ import annotations

import schemathesis
from hypothesis import strategies as st

from tools.fuzz.garble import Case, garble
from tools.fuzz.user import TOKEN_REFRESH_SECONDS, ChirpUser, edge_accepts_the_token

__all__ = ["flatmap_case"]


@schemathesis.hook
def flatmap_case(context: schemathesis.HookContext, case: Case) -> st.SearchStrategy[Case]:
    return garble(case)


# retry_on=[]: a 401 is an answer to check (a wrong password, a missing token), not a sign to log in again.
schemathesis.auth(refresh_interval=TOKEN_REFRESH_SECONDS, retry_on=[])(ChirpUser)
schemathesis.check(edge_accepts_the_token)
