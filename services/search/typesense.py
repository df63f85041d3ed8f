"""Typesense's REST API: the handful of calls the search service makes, over one pooled async HTTP client.

We talk to the REST API with httpx rather than through the `typesense` client package: that package's current
releases target Typesense 28+ (we run 0.24), its async client is a thin layer over httpx anyway, and we use
six endpoints whose behaviour our integration tests pin down against the real server.

A Typesense that cannot be reached, times out or answers 5xx raises `Unavailable` (reason
SEARCH_INDEX_UNAVAILABLE), which callers answer as 503 and consumers retry. A 4xx means we sent something
Typesense rejects — a bug here, not the caller's fault — and raises `TypesenseError`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import httpx

from services.kit.errors import Unavailable

__all__ = ["Document", "ImportResult", "SearchResult", "Typesense", "TypesenseError", "unavailable"]

log = logging.getLogger(__name__)
# httpx logs every request at INFO: one line per search and per indexed event would drown the service's log.
logging.getLogger("httpx").setLevel(logging.WARNING)

Document = dict[str, Any]
ImportAction = Literal["create", "upsert", "update", "emplace"]


class TypesenseError(Exception):
    """Typesense refused a request (a 4xx answer, or a document of an import)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"typesense answered {status}: {message}")
        self.status = status
        self.message = message


def unavailable(cause: object) -> Unavailable:
    return Unavailable("SEARCH_INDEX_UNAVAILABLE", f"the search index cannot be reached: {cause}")


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What Typesense said about one document of an import: `code` 409 for `create` of an existing id, 404
    for `update` of a missing one."""

    ok: bool
    code: int = 200
    error: str = ""


@dataclass(frozen=True, slots=True)
class SearchResult:
    found: int  # every match, not only this page
    documents: list[Document]


class Typesense:
    def __init__(
        self, url: str, api_key: str, *, timeout: float = 5.0, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=url,
            headers={"X-TYPESENSE-API-KEY": api_key},
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def healthy(self) -> bool:
        """Is Typesense up and ready for writes? Never raises."""
        try:
            answer = await self._http.get("/health")
        except httpx.HTTPError:
            return False
        return answer.status_code == 200 and answer.json().get("ok") is True

    async def ensure_collection(self, schema: Mapping[str, Any]) -> bool:
        """Create the collection `schema["name"]` if missing, or add the fields it lacks; True if created.

        Fields are only ever added: a field whose type changed needs a rebuild (the backfill's `--fresh`).
        """
        name = str(schema["name"])
        answer = await self._request("GET", f"/collections/{_path(name)}", allow={404})
        if answer.status_code == 404:
            created = await self._request("POST", "/collections", json=schema, allow={409})
            return created.status_code != 409  # 409: another instance created it between our two calls
        existing = {f["name"] for f in answer.json().get("fields", [])}
        missing = [f for f in schema["fields"] if f["name"] not in existing]
        if missing:
            log.info("collection %s: adding fields %s", name, [f["name"] for f in missing])
            await self._request("PATCH", f"/collections/{_path(name)}", json={"fields": missing})
        return False

    async def drop_collection(self, name: str) -> bool:
        """Delete the collection and its documents; False if it did not exist."""
        answer = await self._request("DELETE", f"/collections/{_path(name)}", allow={404})
        return answer.status_code != 404

    async def import_documents(
        self, collection: str, documents: Sequence[Document], *, action: ImportAction
    ) -> list[ImportResult]:
        """Write documents in one request; one result per document, in order (Typesense answers 200 even when
        some documents fail, so callers decide which codes are fine)."""
        if not documents:
            return []
        body = "\n".join(json.dumps(d, ensure_ascii=False, separators=(",", ":")) for d in documents)
        answer = await self._request(
            "POST",
            f"/collections/{_path(collection)}/documents/import",
            params={"action": action},
            content=body.encode(),
            headers={"Content-Type": "text/plain"},
            allow={404},
        )
        if answer.status_code == 404:
            raise _missing(collection)
        results: list[ImportResult] = []
        for line in answer.text.splitlines():
            item = json.loads(line)
            ok = bool(item.get("success"))
            results.append(
                ImportResult(ok=ok, code=200 if ok else int(item.get("code", 400)), error=item.get("error", ""))
            )
        if len(results) != len(documents):
            raise TypesenseError(answer.status_code, f"import answered {len(results)} results for {len(documents)}")
        return results

    async def get_document(self, collection: str, doc_id: str) -> Document | None:
        answer = await self._request("GET", f"/collections/{_path(collection)}/documents/{_path(doc_id)}", allow={404})
        if answer.status_code == 404:
            return None
        document: Document = answer.json()
        return document

    async def delete_document(self, collection: str, doc_id: str) -> bool:
        """False if there was no such document."""
        answer = await self._request(
            "DELETE", f"/collections/{_path(collection)}/documents/{_path(doc_id)}", allow={404}
        )
        return answer.status_code != 404

    async def search(self, collection: str, params: Mapping[str, str | int]) -> SearchResult:
        answer = await self._request(
            "GET", f"/collections/{_path(collection)}/documents/search", params=params, allow={404}
        )
        if answer.status_code == 404:
            raise _missing(collection)
        body = answer.json()
        return SearchResult(found=int(body.get("found", 0)), documents=[h["document"] for h in body.get("hits", [])])

    async def _request(
        self,
        method: str,
        path: str,
        *,
        allow: frozenset[int] | set[int] = frozenset(),
        **kwargs: Any,
    ) -> httpx.Response:
        try:
            answer = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise unavailable(type(exc).__name__) from exc
        status = answer.status_code
        if status < 400 or status in allow:
            return answer
        message = _message(answer)
        if status >= 500:
            raise unavailable(f"{status} {message}")
        raise TypesenseError(status, message)


def _missing(collection: str) -> Unavailable:
    # Only while a `backfill --fresh` rebuilds it (the service creates its collections at start): try later.
    return unavailable(f"collection {collection} does not exist (being rebuilt?)")


def _path(segment: str) -> str:
    return quote(segment, safe="")


def _message(answer: httpx.Response) -> str:
    try:
        return str(answer.json().get("message", answer.text))
    except ValueError:
        return answer.text[:200]
