from __future__ import annotations

import pytest

from services.tweet.text import MAX_WEIGHTED_LENGTH, analyze


@pytest.mark.parametrize(
    ("text", "weight"),
    [
        ("hello", 5),
        ("a" * 280, 280),
        ("café", 4),  # Latin-1 weighs 1
        ("cafe\u0301", 4),  # NFC folds the combining accent into é
        ("日本語", 6),  # CJK weighs 2
        ("👍", 2),  # an emoji weighs 2
        ("👨‍👩‍👧", 2),  # a ZWJ family is one emoji
        ("🇯🇵", 2),  # a flag (two regional indicators) is one emoji
        ("https://example.com/a/very/long/path/that/goes/on/and/on", 23),  # a URL weighs 23
        ("see chirp.dev and https://x.org", 4 + 23 + 5 + 23),
    ],
)
def test_weighted_length(text: str, weight: int) -> None:
    assert analyze(text).weighted_length == weight


def test_the_limit_counts_cjk_double() -> None:
    assert analyze("漢" * 140).weighted_length == MAX_WEIGHTED_LENGTH
    assert analyze("漢" * 141).weighted_length > MAX_WEIGHTED_LENGTH


def test_entities_with_positions() -> None:
    found = analyze("Hi @alice, #Chirp is up at chirp.dev $ACME").entities
    assert [(m.text, m.start, m.end) for m in found.mentions] == [("alice", 3, 9)]
    assert [(h.text, h.start, h.end) for h in found.hashtags] == [("Chirp", 11, 17)]
    assert [u.text for u in found.urls] == ["chirp.dev"]
    assert [c.text for c in found.cashtags] == ["ACME"]


@pytest.mark.parametrize("text", ["#123", "a#b", "email@example.com", "https://x.org/#frag"])
def test_no_hashtag_or_mention(text: str) -> None:
    found = analyze(text).entities
    assert found.hashtags == [] and found.mentions == []


def test_invalid_characters_are_flagged() -> None:
    assert analyze("bad \ufffe char").has_invalid_characters
    assert not analyze("fine").has_invalid_characters
