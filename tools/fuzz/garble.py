"""Percent-encoded bytes that are not UTF-8, in the text parameters of fuzz cases.

The fuzzer makes only valid Unicode, which it percent-encodes as UTF-8, so it could never find what such bytes
did: the transcoder put them into a protobuf string field as they were, the service's protobuf parser refused
the request, and the client got a 500. `garble` sends them in about one case in five, in one string-typed path
or query parameter of the operation.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import strategies as st
from schemathesis.core.parameters import DelimitedValue

from tools.gen import GEN
from tools.openapi import OPENAPI_NAME

__all__ = ["INVALID_UTF8", "SPEC_ENV", "Case", "garble", "text_parameters"]

Case = schemathesis.Case[Any]
SPEC_ENV = "CHIRP_FUZZ_SPEC"  # the description being fuzzed (default: gen/openapi.json)
# Stray bytes, a lead byte without its continuation, an overlong encoding, a UTF-16 surrogate, a code point
# past U+10FFFF, invalid bytes after valid text, and a sequence cut short.
INVALID_UTF8 = ("%FF%FE%FD", "%C3%28", "%80", "%C0%AF", "%ED%A0%80", "%F4%90%80%80", "ok%FF", "%E2%82")
# Most cases keep what the fuzzer made; one in this many gets one garbled parameter.
GARBLE_ONE_IN = 5


@cache
def text_parameters(spec_path: Path | None = None) -> dict[tuple[str, str], tuple[tuple[str, str], ...]]:
    """(METHOD, path) -> the (location, name) of each string-typed path or query parameter."""
    path = spec_path or Path(os.environ.get(SPEC_ENV) or GEN / OPENAPI_NAME)
    spec = json.loads(path.read_text(encoding="utf-8"))
    found: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}
    for route, item in spec["paths"].items():
        for method, operation in item.items():
            found[(method.upper(), route)] = tuple(
                (parameter["in"], parameter["name"])
                for parameter in operation.get("parameters", [])
                if parameter["in"] in ("path", "query") and _is_text(parameter["schema"])
            )
    return found


def _is_text(schema: dict[str, Any]) -> bool:
    items = schema.get("items", {}) if schema.get("type") == "array" else schema
    return items.get("type") == "string" and "contentEncoding" not in items


def _garbled(case: Case, target: tuple[str, str], raw: str) -> Case:
    """A copy of `case` with the parameter's value replaced by `raw`, sent as it is (not encoded again)."""
    location, name = target
    if location == "path":
        copy = case.derive()
        copy.path_parameters[name] = raw  # path parameters are percent-encoded once, when the case is made
        return copy
    # A query value is encoded when it is sent, unless it is a delimited value, whose wire form is given.
    return case.derive(query={**(case.query or {}), name: DelimitedValue(raw, raw)})


def garble(case: Case) -> st.SearchStrategy[Case]:
    """`case`, or (one time in GARBLE_ONE_IN) a copy with one text parameter garbled."""
    targets = text_parameters().get((case.method.upper(), case.path), ())
    if not targets:
        return st.just(case)
    garbled = st.builds(_garbled, st.just(case), st.sampled_from(targets), st.sampled_from(INVALID_UTF8))
    return st.integers(min_value=1, max_value=GARBLE_ONE_IN).flatmap(
        lambda n: garbled if n == 1 else st.just(case)
    )
