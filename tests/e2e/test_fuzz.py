"""The REST API fuzzed through the edge of the session stack (tools/fuzz/): a few thousand boundary, random
and hostile requests as a signed-up user, among them path and query parameters of bytes that are not UTF-8,
and not one 5xx (but the media service's 501: it is not built yet), nor an answer the OpenAPI description does
not allow, nor a request it forbids accepted. `make fuzz` runs the same with a budget four times larger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stack import Stack
from tools import fuzz, gen, openapi

pytestmark = pytest.mark.asyncio(loop_scope="session")

# 40 random cases per operation and the boundary ones: about 3,500 requests, under a minute on a quiet
# two-core machine, two minutes at worst on a busy one.
BUDGET = fuzz.Budget(cases=40, seed=10)


@pytest.mark.timeout(400)
async def test_no_request_breaks_the_api(stack: Stack, tmp_path: Path) -> None:
    outcome = await fuzz.run(stack.edge_url, budget=BUDGET, work_dir=tmp_path)
    summary = "\n".join(fuzz.describe(outcome))
    print(summary)
    assert outcome.ok, f"{summary}\n\n{outcome.output}"
    spec = json.loads((gen.GEN / openapi.OPENAPI_NAME).read_text())
    assert outcome.operations == sum(len(item) for item in spec["paths"].values()), summary
    assert outcome.cases >= 1500, summary
