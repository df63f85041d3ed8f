"""Twitter's text rules: weighted length and entity extraction.

The weighting follows twitter-text's v3 configuration: code points in the Latin-1, general punctuation and
similar ranges weigh 1, everything else (CJK, most scripts beyond Latin) weighs 2, an emoji sequence weighs 2
however many code points it has, and every URL weighs 23 whatever its length. Text is NFC-normalized first.
Indices are code-point offsets into the normalized text.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

import regex

__all__ = ["MAX_WEIGHTED_LENGTH", "Analysis", "Entities", "Span", "analyze", "weighted_length"]

MAX_WEIGHTED_LENGTH = 280
URL_WEIGHT = 23
_DEFAULT_WEIGHT = 2
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_INVALID_CHARS = frozenset("\ufffe\ufeff\uffff")

_EMOJI_CLUSTER = regex.compile(r"\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3")
_URL = regex.compile(
    r"(?<![\w@$#.-])"
    r"(?:https?://)?"
    r"(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+\p{L}{2,63}"
    r"(?::\d{1,5})?"
    r"(?:/[^\s]*[^\s.,;:!?'\")\]}])?/?",
    regex.IGNORECASE,
)
_HASHTAG = regex.compile(r"(?<![\w&#\uff03])[#\uff03]([\p{L}\p{M}\p{N}_]*[\p{L}\p{M}][\p{L}\p{M}\p{N}_]*)")
_MENTION = regex.compile(r"(?<![\w!@#$%&*\uff20])[@\uff20]([A-Za-z0-9_]{1,15})(?![\w@])")
_CASHTAG = regex.compile(r"(?<![\w$])\$([A-Za-z]{1,6}(?:[._][A-Za-z]{1,2})?)(?![\w$])")


@dataclass(frozen=True, slots=True)
class Span:
    text: str  # without the leading # @ $ for hashtags, mentions and cashtags
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Entities:
    hashtags: list[Span] = field(default_factory=list)
    mentions: list[Span] = field(default_factory=list)
    urls: list[Span] = field(default_factory=list)
    cashtags: list[Span] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Analysis:
    text: str  # NFC-normalized
    weighted_length: int
    has_invalid_characters: bool
    entities: Entities


def _char_weight(ch: str) -> int:
    point = ord(ch)
    return 1 if any(lo <= point <= hi for lo, hi in _LIGHT_RANGES) else _DEFAULT_WEIGHT


def _weigh(text: str) -> int:
    total = 0
    for cluster in regex.findall(r"\X", text):
        if _EMOJI_CLUSTER.search(cluster):
            total += _DEFAULT_WEIGHT
        else:
            total += sum(_char_weight(ch) for ch in cluster)
    return total


def _spans(pattern: regex.Pattern[str], text: str, *, group: int) -> list[Span]:
    return [Span(m.group(group), m.start(), m.end()) for m in pattern.finditer(text)]


def analyze(text: str) -> Analysis:
    normalized = unicodedata.normalize("NFC", text)
    urls = _spans(_URL, normalized, group=0)
    length, cursor = 0, 0
    for url in urls:
        length += _weigh(normalized[cursor : url.start]) + URL_WEIGHT
        cursor = url.end
    length += _weigh(normalized[cursor:])
    inside_url = [range(u.start, u.end) for u in urls]

    def outside_urls(spans: list[Span]) -> list[Span]:
        return [s for s in spans if not any(s.start in r for r in inside_url)]

    return Analysis(
        text=normalized,
        weighted_length=length,
        has_invalid_characters=any(ch in _INVALID_CHARS for ch in normalized),
        entities=Entities(
            hashtags=outside_urls(_spans(_HASHTAG, normalized, group=1)),
            mentions=outside_urls(_spans(_MENTION, normalized, group=1)),
            urls=urls,
            cashtags=outside_urls(_spans(_CASHTAG, normalized, group=1)),
        ),
    )


def weighted_length(text: str) -> int:
    return analyze(text).weighted_length
