"""Twitter's text rules for a tweet: NFC normalization, the weighted length and the entities.

The weighting is twitter-text's v3 configuration: the text is NFC-normalized first; a code point in the ranges
U+0000..U+10FF, U+2000..U+200D, U+2010..U+201F or U+2032..U+2037 (Latin and most alphabetic scripts, common
punctuation) weighs 1 and any other (CJK, most symbols) weighs 2; every URL weighs 23 whatever its length; an
emoji weighs 2 however many code points it is made of (a skin tone, a ZWJ family, a flag, a keycap). A tweet
may weigh at most 280, so 280 Latin letters, 140 CJK characters or 140 emoji.

Emoji are recognised by the grammar of Unicode's emoji sequences (UTS #51) over the Unicode database Python
ships, not by a frozen list of sequences as twitter-text's JavaScript build does (twemoji's list of 2018):
any well-formed modifier, flag, keycap, tag or ZWJ sequence is one emoji, newer ones included, and an
emoji followed by U+FE0F (emoji presentation) is one emoji with it.

Entities (see `extract`) are found in the normalized text, and their indices are code points into it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

import regex

from services.tweet.extract import Entity, extract_entities, extract_urls

__all__ = ["MAX_WEIGHTED_LENGTH", "URL_WEIGHT", "Analysis", "Entities", "Entity", "analyze", "weighted_length"]

MAX_WEIGHTED_LENGTH = 280
URL_WEIGHT = 23
_EMOJI_WEIGHT = 2
_HEAVY = 2
_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
_INVALID_CHARS = frozenset("\ufffe\ufeff\uffff")

# One element of an emoji sequence. Single code points that weigh 1 anyway as text are left to the text
# rule (`©` and `#` alone are not emoji; `©️` with U+FE0F is), which is what twitter-text counts too.
_ELEMENT = (
    "(?:\\p{Emoji_Modifier_Base}[\\U0001f3fb-\\U0001f3ff]"
    "|(?![\\x00-\\x7f])\\p{Emoji}(?=\\ufe0f)"
    "|(?![\\x00-\\xff])[\\p{Extended_Pictographic}\\p{Emoji_Presentation}])\\ufe0f?"
)
_EMOJI = regex.compile(
    "[0-9#*]\\ufe0f?\\u20e3"  # keycap
    "|[\\U0001f1e6-\\U0001f1ff]{2}"  # flag: two regional indicators
    "|\\U0001f3f4[\\U000e0020-\\U000e007e]+\\U000e007f"  # subdivision flag: black flag and tag characters
    f"|{_ELEMENT}(?:\\u200d{_ELEMENT})*"  # a single emoji, or a ZWJ sequence of them
)


@dataclass(frozen=True, slots=True)
class Entities:
    """The entities of a tweet's text by kind, each in order of position."""

    hashtags: list[Entity] = field(default_factory=list)
    mentions: list[Entity] = field(default_factory=list)
    urls: list[Entity] = field(default_factory=list)
    cashtags: list[Entity] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Analysis:
    text: str  # NFC-normalized: what is stored and what the indices point into
    weighted_length: int
    has_invalid_characters: bool  # U+FFFE, U+FEFF or U+FFFF: twitter-text refuses a tweet with any
    entities: Entities


def _char_weight(ch: str) -> int:
    point = ord(ch)
    return 1 if any(lo <= point <= hi for lo, hi in _LIGHT_RANGES) else _HEAVY


def _weigh(text: str, urls: list[Entity]) -> int:
    url_at = {u.start: u.end for u in urls}
    emoji_at = {m.start(): m.end() for m in _EMOJI.finditer(text)}
    total, i = 0, 0
    while i < len(text):
        if i in url_at:
            total, i = total + URL_WEIGHT, url_at[i]
        elif i in emoji_at:
            total, i = total + _EMOJI_WEIGHT, emoji_at[i]
        else:
            total, i = total + _char_weight(text[i]), i + 1
    return total


def analyze(text: str) -> Analysis:
    """Normalize `text` and find its weighted length and entities (lists, `@user/list`, are not mentions)."""
    normalized = unicodedata.normalize("NFC", text)
    found = extract_entities(normalized)
    return Analysis(
        text=normalized,
        weighted_length=_weigh(normalized, extract_urls(normalized)),
        has_invalid_characters=any(ch in _INVALID_CHARS for ch in normalized),
        entities=Entities(
            hashtags=[e for e in found if e.kind == "hashtag"],
            mentions=[e for e in found if e.kind == "mention"],
            urls=[e for e in found if e.kind == "url"],
            cashtags=[e for e in found if e.kind == "cashtag"],
        ),
    )


def weighted_length(text: str) -> int:
    """The weight of `text` under the rules above (after NFC normalization)."""
    normalized = unicodedata.normalize("NFC", text)
    return _weigh(normalized, extract_urls(normalized))
