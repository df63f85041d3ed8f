"""The tweet search query language (see SearchTweets in search_service.proto), parsed into a `TweetQuery`.

    "open source" #python from:alice since:2025-01-01 until:2025-02-01 release

Terms are separated by white space, or by `+` (how HTML forms encode a space in a query string, and a character
Typesense would drop from a word anyway); a tweet matches when it satisfies every term. `"..."` is a phrase (white
space inside it is kept, quotes may start anywhere); `#tag` a hashtag; `from:`, `since:` and `until:`
operators (names case-insensitive); anything else, `name:value` forms included, a plain word. Plain words
and phrases without a letter or digit (`-`, `!!`) say nothing a full-text index can match and are dropped; a
query left with no term at all is refused, as are unterminated quotes, operators without a value, dates that
are not real `YYYY-MM-DD` days, `since` after `until`, and more than `MAX_WORDS` words and phrases (each
costs the index typo-tolerant lookups).

Everything here is plain Python with no I/O; `QueryError` carries the reason shown to the caller.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

__all__ = ["MAX_WORDS", "QueryError", "TweetQuery", "parse"]

MAX_WORDS = 32

_WORDISH = re.compile(r"\w")
_HASHTAG = re.compile(r"\w+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_OPERATORS = ("from", "since", "until")


class QueryError(ValueError):
    """The query is malformed; the message says how, in words a user can act on."""


@dataclass(frozen=True, slots=True)
class TweetQuery:
    words: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()  # lower case, without `#`
    authors: tuple[str, ...] = ()  # `from:` usernames, lower case, without `@`; not checked to exist
    since: date | None = None  # inclusive, 00:00 UTC
    until: date | None = None  # exclusive, 00:00 UTC

    @property
    def text(self) -> str:
        """The full-text part as Typesense's `q`: the words, then the phrases in quotes; `*` when none."""
        parts = [*self.words, *(f'"{p}"' for p in self.phrases)]
        return " ".join(parts) if parts else "*"

    @property
    def has_text(self) -> bool:
        return bool(self.words or self.phrases)

    @property
    def empty_range(self) -> bool:
        """`since` and `until` leave no day (equal dates: on or after a day, and before it)."""
        return self.since is not None and self.until is not None and self.since >= self.until

    @property
    def since_seconds(self) -> int | None:
        return None if self.since is None else _midnight(self.since)

    @property
    def until_seconds(self) -> int | None:
        return None if self.until is None else _midnight(self.until)

    def fingerprint(self) -> str:
        """A short digest of what the query means, the same however it is capitalised and whatever order its
        operators come in, so a page token can be tied to its query."""
        canonical = "\x1f".join(
            [
                " ".join(w.lower() for w in self.words),
                "\x1e".join(p.lower() for p in self.phrases),
                " ".join(sorted(set(self.hashtags))),
                " ".join(sorted(set(self.authors))),
                str(self.since or ""),
                str(self.until or ""),
            ]
        )
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def parse(q: str) -> TweetQuery:
    """Raises QueryError with a reason a user can act on."""
    words: list[str] = []
    phrases: list[str] = []
    hashtags: list[str] = []
    authors: list[str] = []
    since: date | None = None
    until: date | None = None
    had_term = False

    for kind, token in _tokens(q.replace("+", " ")):
        if kind == "phrase":
            phrase = " ".join(token.split())
            if _WORDISH.search(phrase):
                phrases.append(phrase)
                had_term = True
            continue
        if token.startswith("#"):
            match = _HASHTAG.match(token, 1)
            if match is None:
                raise QueryError(f"{token!r}: a # needs a hashtag after it, such as #chirp")
            hashtags.append(match.group(0).lower())
            had_term = True
            continue
        name, colon, value = token.partition(":")
        operator = name.lower()
        if colon and operator in _OPERATORS:
            if not value:
                raise QueryError(f"{token!r}: {operator}: needs a value")
            had_term = True
            if operator == "from":
                username = value.removeprefix("@")
                if not username:
                    raise QueryError(f"{token!r}: from: needs a username")
                authors.append(username.lower())
            elif operator == "since":
                day = _day(token, value)
                since = day if since is None else max(since, day)  # every term must hold: the latest wins
            else:
                day = _day(token, value)
                until = day if until is None else min(until, day)
            continue
        word = token.lstrip("-")  # a leading `-` would be Typesense's exclusion, which we do not offer
        if _WORDISH.search(word):
            words.append(word)
            had_term = True

    if not had_term:
        raise QueryError("the query has no term to search for")
    if since is not None and until is not None and since > until:
        raise QueryError(f"since:{since} is after until:{until}")
    if len(words) + len(phrases) > MAX_WORDS:
        raise QueryError(f"the query has {len(words) + len(phrases)} words and phrases; at most {MAX_WORDS}")
    return TweetQuery(
        words=tuple(words),
        phrases=tuple(phrases),
        hashtags=tuple(dict.fromkeys(hashtags)),
        authors=tuple(dict.fromkeys(authors)),
        since=since,
        until=until,
    )


def _tokens(q: str) -> list[tuple[str, str]]:
    """("word" | "phrase", text) pairs. A quote ends the word before it and starts a phrase."""
    tokens: list[tuple[str, str]] = []
    current: list[str] = []
    in_phrase = False
    for ch in q:
        if in_phrase:
            if ch == '"':
                tokens.append(("phrase", "".join(current)))
                current = []
                in_phrase = False
            else:
                current.append(ch)
        elif ch == '"' or ch.isspace():
            if current:
                tokens.append(("word", "".join(current)))
                current = []
            in_phrase = ch == '"'
        else:
            current.append(ch)
    if in_phrase:
        raise QueryError('the query has an unterminated quote: close every " you open')
    if current:
        tokens.append(("word", "".join(current)))
    return tokens


def _day(token: str, value: str) -> date:
    if _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise QueryError(f"{token!r}: dates are written YYYY-MM-DD, such as 2025-01-31, and must be real days")


def _midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
