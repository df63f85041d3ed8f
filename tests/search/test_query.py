"""The tweet query language: what each query means, and every malformed query refused with a reason."""

from __future__ import annotations

from datetime import date

import pytest

from services.search.query import MAX_WORDS, QueryError, TweetQuery, parse

VALID: list[tuple[str, TweetQuery]] = [
    ("chirp", TweetQuery(words=("chirp",))),
    ("  open   source ", TweetQuery(words=("open", "source"))),
    ('"open source"', TweetQuery(phrases=("open source",))),
    ('"open   source"  rocks', TweetQuery(words=("rocks",), phrases=("open source",))),
    ('say"hello world"', TweetQuery(words=("say",), phrases=("hello world",))),
    ("#Python", TweetQuery(hashtags=("python",))),
    ("#python, #python #PYTHON", TweetQuery(hashtags=("python",))),  # trailing punctuation is not the tag
    ("#café", TweetQuery(hashtags=("café",))),
    ("from:alice", TweetQuery(authors=("alice",))),
    ("FROM:@Alice", TweetQuery(authors=("alice",))),
    ("from:not-a-username!", TweetQuery(authors=("not-a-username!",))),  # unknown users match nothing
    ("since:2025-01-01", TweetQuery(since=date(2025, 1, 1))),
    ("until:2025-02-01 Since:2025-01-01", TweetQuery(since=date(2025, 1, 1), until=date(2025, 2, 1))),
    ("since:2025-01-01 since:2025-01-05", TweetQuery(since=date(2025, 1, 5))),  # every term holds: the latest
    ("until:2025-01-09 until:2025-01-05", TweetQuery(until=date(2025, 1, 5))),
    ("since:2025-01-01 until:2025-01-01", TweetQuery(since=date(2025, 1, 1), until=date(2025, 1, 1))),
    ("lang:en", TweetQuery(words=("lang:en",))),  # other name:value forms are plain words
    ("-chirp", TweetQuery(words=("chirp",))),  # no exclusion operator: the word itself
    ("chirp !! - ...", TweetQuery(words=("chirp",))),  # punctuation alone is not a word
    ('chirp "" "!!"', TweetQuery(words=("chirp",))),
    ("日本語", TweetQuery(words=("日本語",))),
    (
        '"open source" #python from:alice since:2025-01-01 until:2025-02-01 release',
        TweetQuery(
            words=("release",),
            phrases=("open source",),
            hashtags=("python",),
            authors=("alice",),
            since=date(2025, 1, 1),
            until=date(2025, 2, 1),
        ),
    ),
    (" ".join(["w"] * MAX_WORDS), TweetQuery(words=("w",) * MAX_WORDS)),
]


@pytest.mark.parametrize(("q", "expected"), VALID, ids=[q for q, _ in VALID])
def test_valid_queries(q: str, expected: TweetQuery) -> None:
    assert parse(q) == expected


INVALID: list[tuple[str, str]] = [
    ("", "no term"),
    ("   ", "no term"),
    ("!!! ...", "no term"),
    ('""', "no term"),
    ("-", "no term"),
    ('"open source', "unterminated quote"),
    ('chirp "', "unterminated quote"),
    ('"a" "b', "unterminated quote"),
    ("#", "needs a hashtag"),
    ("#!!", "needs a hashtag"),
    ("from:", "from: needs a value"),
    ("from:@", "from: needs a username"),
    ("since:", "since: needs a value"),
    ("until:", "until: needs a value"),
    ("since:yesterday", "YYYY-MM-DD"),
    ("since:2025-1-1", "YYYY-MM-DD"),
    ("since:2025-02-30", "real days"),
    ("until:2025-13-01", "real days"),
    ("since:0000-01-01", "real days"),
    ("since:\uff12\uff10\uff12\uff15-01-01", "YYYY-MM-DD"),  # full-width digits are not digits here
    ("since:2025-01-01T00:00", "YYYY-MM-DD"),
    ("since:2025-02-01 until:2025-01-01", "after until"),
    (" ".join(["w"] * (MAX_WORDS + 1)), f"at most {MAX_WORDS}"),
]


@pytest.mark.parametrize(("q", "reason"), INVALID, ids=[q[:40] for q, _ in INVALID])
def test_malformed_queries_say_why(q: str, reason: str) -> None:
    with pytest.raises(QueryError, match=reason):
        parse(q)


def test_typesense_text_quotes_phrases_and_uses_a_wildcard_without_words() -> None:
    assert parse('open "source code" now').text == 'open now "source code"'
    assert parse("#python from:alice").text == "*"
    assert not parse("#python").has_text


def test_dates_are_midnight_utc() -> None:
    query = parse("since:2025-01-01 until:2025-01-02")
    assert query.since_seconds == 1735689600
    assert query.until_seconds == 1735689600 + 86400
    assert parse("since:2025-01-02 until:2025-01-02").empty_range
    assert not query.empty_range


def test_fingerprint_ignores_case_and_operator_order_only() -> None:
    assert parse("Chirp #A from:Bob").fingerprint() == parse("from:bob #a chirp").fingerprint()
    assert parse("chirp").fingerprint() != parse("chirps").fingerprint()
    assert parse("a b").fingerprint() != parse('"a b"').fingerprint()
    assert parse("since:2025-01-01").fingerprint() != parse("until:2025-01-01").fingerprint()


def test_a_plus_separates_terms_like_a_space() -> None:
    # Form-encoded query strings write spaces as `+`. The edge decodes them (query_param_unescape_plus); a gRPC
    # caller passing one on undecoded is read the same way (Typesense drops a `+` inside a word anyway).
    assert parse('"open+source"+rocks+from:alice') == parse('"open source" rocks from:alice')
