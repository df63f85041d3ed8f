"""Twitter's text rules: weighted length and entities, as a table of cases.

The cases are ours, written from twitter-text's rules (v3 weighting, its extractor's patterns); the expected
values were cross-checked against twitter-text's reference implementation. Indices are code points into the
NFC-normalized text (see services/tweet/extract.py for why not UTF-16).
"""

# ruff: noqa: RUF001  (look-alike characters are what these cases are about)

from __future__ import annotations

import time

import pytest

from services.tweet.extract import extract_cashtags, extract_hashtags, extract_mentions, extract_urls
from services.tweet.text import MAX_WEIGHTED_LENGTH, analyze, weighted_length

# -- weighted length ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "weight"),
    [
        # Latin and the light ranges weigh 1
        ("", 0),
        ("hello world", 11),
        ("a" * 280, 280),
        ("a" * 281, 281),
        ("naïve café", 10),  # Latin-1 letters
        ("Ελληνικά кириллица", 18),  # Greek and Cyrillic are below U+10FF
        ("line\nbreak\ttab", 14),
        ("em—dash ′prime", 14),  # U+2014 and U+2032 are in the light punctuation ranges
        ("zero\u200bwidth", 10),  # U+200B is in U+2000..U+200D
        # everything else weighs 2
        ("日本語", 6),
        ("한국어", 6),
        ("ひらがな", 8),
        ("ＡＢ", 4),  # fullwidth Latin
        ("…", 2),  # U+2026 is past U+201F
        ("‸", 2),  # U+2038 is past U+2037
        ("\u3000", 2),  # ideographic space
        ("𝕏", 2),  # outside the BMP, not an emoji
        ("\U00020000", 2),  # CJK extension B
        # NFC first: decomposed text weighs what its composed form weighs
        ("A\u030a", 1),  # A + combining ring → Å
        ("e\u0301", 1),
        ("\ufb2c", 3),  # a composition exclusion: NFC splits it into three code points
        # an emoji weighs 2 whatever it is made of
        ("👍", 2),
        ("👍🏽", 2),  # with a skin tone
        ("👨\u200d👩\u200d👧\u200d👦", 2),  # a ZWJ family of seven code points
        ("🧑\u200d🤝\u200d🧑", 2),  # a ZWJ sequence newer than twitter-text's emoji list (which counts it 8)
        ("🇯🇵", 2),  # a flag: two regional indicators
        ("🇯🇵🇫", 4),  # a flag and a lone regional indicator
        ("🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", 2),  # a subdivision flag
        ("7\ufe0f\u20e3", 2),  # a keycap
        ("❤\ufe0f", 2),
        ("©", 1),  # © alone is text (Latin-1) ...
        ("©\ufe0f", 2),  # ... and an emoji with the emoji presentation selector
        ("👍🏽\u200d", 3),  # a trailing joiner joins nothing and weighs 1 itself
        ("H🐱☺", 5),
        # a URL weighs 23, however long
        ("https://example.com/" + "x" * 100, 23),
        ("see example.com", 4 + 23),
        ("a.co b.co", 23 + 1 + 23),
        ("http://t.co", 23),
        ("日本 https://example.jp/パス", 4 + 1 + 23 + 4),  # the CJK after the path is not part of the URL
        ("file.tar.bz2", 12),  # not a known top-level domain: plain text
        ("http://localhost:8080", 21),  # no top-level domain: plain text
        ("randomurlrandomurlrandomurlrandomurlrandomurlrandomurlrandomurls.com", 68),  # a 64-character label
    ],
)
def test_weighted_length(text: str, weight: int) -> None:
    assert weighted_length(text) == weight
    assert analyze(text).weighted_length == weight


@pytest.mark.parametrize(
    ("text", "fits"),
    [
        ("漢" * 140, True),
        ("漢" * 141, False),
        ("😷" * 140, True),
        ("😷" * 141, False),
        ("x" * 256 + " https://a.co", True),  # 256 + 1 + 23
        ("x" * 257 + " https://a.co", False),
        ("x" * 256 + " https://example.com/" + "p" * 500, True),
        ("x" * 257 + " https://example.com/" + "p" * 500, False),
    ],
)
def test_the_limit(text: str, fits: bool) -> None:
    assert (analyze(text).weighted_length <= MAX_WEIGHTED_LENGTH) is fits


def test_text_is_nfc_normalized_and_indices_point_into_it() -> None:
    found = analyze("Cafe\u0301 #tag")
    assert found.text == "Café #tag"
    assert [(h.value, h.start, h.end) for h in found.entities.hashtags] == [("tag", 5, 9)]


def test_indices_are_code_points_not_utf16_units() -> None:
    # In UTF-16 (twitter-text's JavaScript offsets) the emoji takes two units and the hashtag starts at 3.
    text = "😷 #tag @alice"
    found = analyze(text).entities
    assert [(h.start, h.end) for h in found.hashtags] == [(2, 6)]
    assert text[2:6] == "#tag"
    assert [(m.start, m.end) for m in found.mentions] == [(7, 13)]


@pytest.mark.parametrize(
    ("text", "invalid"),
    [("fine", False), ("bad \ufffe char", True), ("\ufeffbom", True), ("end\uffff", True), ("\u202aRTL mark", False)],
)
def test_invalid_characters(text: str, invalid: bool) -> None:
    assert analyze(text).has_invalid_characters is invalid


# -- entities -------------------------------------------------------------------------------------------------

Spans = list[tuple[str, int, int]]


def _spans(entities: list[object]) -> Spans:
    return [(e.value, e.start, e.end) for e in entities]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "urls"),
    [
        ("http://example.com", [("http://example.com", 0, 18)]),
        ("Visit https://chirp.dev/about.", [("https://chirp.dev/about", 6, 29)]),  # trailing period left out
        ("(see example.com)", [("example.com", 5, 16)]),  # no scheme, known top-level domain
        ("x x.co/a?b=1&c=2.", [("x.co/a?b=1&c=2", 2, 16)]),
        ("example.com:8080/x", [("example.com:8080/x", 0, 18)]),
        ("www.example.org/path_(x)", [("www.example.org/path_(x)", 0, 24)]),  # balanced parentheses kept
        ("https://a.co/x:(b)", [("https://a.co/x", 0, 14)]),  # ... but only after an ending character
        ("I like http://t.co/abc's site", [("http://t.co/abc", 7, 22)]),  # t.co: the slug only
        ("http://t.co/" + "a" * 41, []),  # a t.co slug is at most 40 characters
        ("HTTPS://WWW.EXAMPLE.COM/Index", [("HTTPS://WWW.EXAMPLE.COM/Index", 0, 29)]),
        ("https://例え.jp/x", [("https://例え.jp/x", 0, 15)]),  # internationalised host, with a scheme
        ("例え.jp", []),  # ... but without one, only ASCII hosts count
        ("これはexample.comです", [("example.com", 3, 14)]),
        ("test http://foobar.みんな/", [("http://foobar.みんな/", 5, 23)]),  # internationalised top-level domain
        ("ftp://example.com", []),
        ("file.tar.bz2 and a.b", []),
        ("john.doe.gov@mail.com", []),  # an address, not a link
        ("$example.com #example.com @example.com", []),  # signs before a host make something else
        ("http://-bad.example.com http://bad-.example.com", []),  # labels start and end with a letter or digit
        ("http://under_score.com", []),  # the label before the top-level domain has no underscore
        ("http://sub_domain.example.com", [("http://sub_domain.example.com", 0, 29)]),  # but subdomains may
        ("http://" + "a" * 64 + ".com", []),  # a label has at most 63 characters
        ("a.co b.co", [("a.co", 0, 4), ("b.co", 5, 9)]),
        ("@🏴.example.com", [("example.com", 3, 14)]),  # twitter-text's UTF-16 reading: a host after an emoji
    ],
)
def test_urls(text: str, urls: Spans) -> None:
    assert _spans(extract_urls(text)) == urls  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "hashtags"),
    [
        ("#chirp", [("chirp", 0, 6)]),
        ("a #1st b", [("1st", 2, 6)]),
        ("#123", []),  # digits alone are not a hashtag
        ("a#b", []),  # a hashtag starts a word
        ("&#39;", []),  # an HTML entity is not a hashtag
        ("#tag#other", []),
        ("#café!", [("café", 0, 5)]),
        ("#日本語 ＃全角", [("日本語", 0, 4), ("全角", 5, 8)]),  # fullwidth sign too
        ("#il·lusió #Ateş", [("il·lusió", 0, 9), ("Ateş", 10, 15)]),
        ("#_ #1_2", []),  # at least one letter
        ("✌️#peace", [("peace", 2, 8)]),  # right after an emoji
        ("see example.com/#frag and #real", [("real", 26, 31)]),  # a URL fragment is part of the URL
        ("#tag.com", [("tag", 0, 4)]),
        ("#http://example.com", []),
    ],
)
def test_hashtags(text: str, hashtags: Spans) -> None:
    assert _spans(extract_hashtags(text)) == hashtags  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "mentions"),
    [
        ("@alice", [("alice", 0, 6)]),
        ("hi @bob_1!", [("bob_1", 3, 9)]),
        ("の@user見て", [("user", 1, 6)]),
        ("RT@carol RT:@dave", [("carol", 2, 8), ("dave", 12, 17)]),
        ("email@example.com", []),
        ("@alice@bob", []),  # too close to an address
        ("@dave/list", []),  # a list, not a mention
        ("@usuárioX", []),  # a name runs into accented letters: not a mention
        ("@http://example.com", []),
        ("x!@y #@z $@w", []),
        ("@alice @Alice", [("alice", 0, 6), ("Alice", 7, 13)]),  # as written; resolving ignores case
        ("@abcdefghijklmnopqrstu", [("abcdefghijklmnopqrst", 0, 21)]),  # names are read up to 20 characters
    ],
)
def test_mentions(text: str, mentions: Spans) -> None:
    assert _spans(extract_mentions(text)) == mentions  # type: ignore[arg-type]


def test_lists_are_reported_apart_when_asked() -> None:
    assert [(e.kind, e.value) for e in extract_mentions("@dave/friends-1 hi", with_lists=True)] == [
        ("list", "dave/friends-1")
    ]


@pytest.mark.parametrize(
    ("text", "cashtags"),
    [
        ("$ACME up", [("ACME", 0, 5)]),
        ("buy $acme.b now", [("acme.b", 4, 11)]),  # as written, with a class suffix
        ("$TEST.", [("TEST", 0, 5)]),
        ("$123 $12.5", []),
        ("a$AB", []),  # after a space or at the start only
        ("$ABCDEFG", []),  # at most six letters
        ("$株", []),
    ],
)
def test_cashtags(text: str, cashtags: Spans) -> None:
    assert _spans(extract_cashtags(text)) == cashtags  # type: ignore[arg-type]


def test_analysis_keeps_entities_from_overlapping() -> None:
    found = analyze("#tag.com @x https://a.co/#frag $AB").entities
    assert _spans(found.hashtags) == [("tag", 0, 4)]  # type: ignore[arg-type]
    assert _spans(found.mentions) == [("x", 9, 11)]  # type: ignore[arg-type]
    assert _spans(found.urls) == [("https://a.co/#frag", 12, 30)]  # type: ignore[arg-type]
    assert _spans(found.cashtags) == [("AB", 31, 34)]  # type: ignore[arg-type]


# -- adversarial input stays fast -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "a." * 2000,  # a run of labels that never reaches a top-level domain
        "a." * 1990 + "b_c.com",  # ... or reaches one through a label that may not precede it
        "あ" + "a." * 1990 + "あ.com",  # a long host without a scheme, scanned for ASCII parts
        "http://example.com/" + "(a)" * 1300,  # many parenthesised path pieces
        "http://example.com/" + "." * 3900,
        "#" + "1" * 3999,
    ],
)
def test_pathological_text_is_analysed_quickly(text: str) -> None:
    started = time.perf_counter()
    analyze(text)
    assert time.perf_counter() - started < 0.5
