"""Entity extraction by twitter-text's rules (v3): URLs, @mentions (and @user/lists), #hashtags and $cashtags.

The patterns and the decisions around them (which character may precede a URL, which trailing punctuation a
URL leaves out, when a `#` starts a hashtag) follow twitter-text 3, the reference Twitter clients use, so a
tweet's entities are the ones its readers expect. twitter-text runs its patterns over UTF-16 code units; every
class used here is either within the BMP or spelled out per code point, so running them over Python strings
(code points) finds the same entities. Indices are therefore **code points** into the text given, which is
what a Python client slicing `text[start:end]` expects (twitter-text's JavaScript build reports UTF-16
offsets, which differ only after a character outside the BMP, such as most emoji).

Two places differ from a naive port, on purpose and without changing what is matched:
- `$` in twitter-text's patterns means end of input; Python's `$` also matches before a final newline, so
  `\\Z` is used.
- Case-insensitive parts spell their letters out (`[cC][oO][mM]`) instead of using IGNORECASE, which in
  Python also folds the Kelvin sign (U+212A) into `k` and the long s (U+017F) into `s`; twitter-text's patterns do not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

import regex

from services.tweet.tlds import COUNTRY_CODE, GENERIC

__all__ = ["Entity", "extract_cashtags", "extract_entities", "extract_hashtags", "extract_mentions", "extract_urls"]


Match = regex.Match[str]


@dataclass(frozen=True, slots=True)
class Entity:
    """One entity: `kind` is "url", "mention", "list", "hashtag" or "cashtag"; `value` is the URL as written,
    or the name without its sign (`alice`, `alice/friends`, `chirp`, `ACME`); [start, end) in code points."""

    kind: str
    value: str
    start: int
    end: int


# -- character sets (twitter-text's), and [...] classes of them -----------------------------------------------
def _chars(*ranges: str) -> str:
    """The characters of `ranges`, each a single character or a "first-last" pair such as "\u2000-\u200a"."""
    out: list[str] = []
    for item in ranges:
        first, last = (item[0], item[-1]) if len(item) == 3 and item[1] == "-" else (item, item)
        out.extend(chr(c) for c in range(ord(first), ord(last) + 1))
    return "".join(out)


def _class(chars: str) -> str:
    """The inside of a [...] class matching exactly `chars`."""
    return "".join(regex.escape(ch, special_only=False) if not ch.isalnum() else ch for ch in chars)


_SPACES = _chars("\t-\r", " ", "\x85", "\xa0", "\u1680", "\u180e", "\u2000-\u200a", "\u2028", "\u2029", "\u202f",
                 "\u205f", "\u3000")  # fmt: skip
_INVALID = "\ufffe\ufeff\uffff"
_DIRECTIONAL = _chars("\u202a-\u202e", "\u061c", "\u200e", "\u200f", "\u2066-\u2069")
_PUNCT = "!'#%&()*+,\\-./:;<=>?@[]^_{|}~$"
_NOT_IN_HOST = frozenset(_PUNCT + _SPACES + _INVALID + _DIRECTIONAL)
_LATIN_ACCENTS = (
    "\xc0-\xd6\xd8-\xf6\xf8-\xff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259\u025b\u0263\u0268"
    "\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
# JavaScript's \s, which twitter-text's cashtag rule uses (Python's \s differs at U+0085 and U+FEFF).
_JS_SPACE = _chars("\t-\r", " ", "\xa0", "\u1680", "\u2000-\u200a", "\u2028", "\u2029", "\u202f", "\u205f",
                   "\u3000", "\ufeff")  # fmt: skip


def _caseless(word: str) -> str:
    """`word` as a pattern matching it in any case, the way a JavaScript /i pattern would."""
    parts = []
    for ch in word:
        upper = ch.upper()
        parts.append(f"[{ch}{upper}]" if len(upper) == 1 and upper != ch else regex.escape(ch))
    return "".join(parts)


class _Trie(dict[str, "_Trie"]):
    """Words by their characters; the key "" marks the end of a word."""


def _alternation(words: Iterable[str]) -> str:
    """A pattern matching any of `words`, factored as a trie so that a longer word is always tried before a
    shorter one it extends (`com` before `co`), as twitter-text's ordered list does, and matching is fast."""
    trie = _Trie()
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, _Trie())
        node[""] = _Trie()

    def render(node: _Trie) -> str:
        branches = [_caseless(ch) + render(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:  # a word may stop here, but a longer one is tried first (greedy)
            return f"(?:{body})?" if len(branches) == 1 else body + "?"
        return body

    return "(?:" + render(trie) + ")"


# -- URLs ----------------------------------------------------------------------------------------------------
_DOMAIN_CHAR = f"[^{_class(''.join(sorted(_NOT_IN_HOST)))}]"
# A label is a maximal run, so its repetition is possessive: no other split could be followed by the dot.
_SUBDOMAIN = f"(?:{_DOMAIN_CHAR}(?:[_\\-]|{_DOMAIN_CHAR})*+(?<={_DOMAIN_CHAR})\\.)"
_DOMAIN_NAME = f"(?:{_DOMAIN_CHAR}(?:-|{_DOMAIN_CHAR})*+(?<={_DOMAIN_CHAR})\\.)"
_TLD_END = "(?=[^0-9a-zA-Z@+\\-]|\\Z)"
_TLD = f"(?:{_alternation(GENERIC | COUNTRY_CODE)}{_TLD_END}|[xX][nN]--[\\-0-9a-zA-Z]+)"
_TLD_AT = regex.compile(_TLD)
_DOMAIN = f"(?:{_SUBDOMAIN}*{_DOMAIN_NAME}{_TLD})"

_PATH_CHAR = f"[a-zA-Z\\u0400-\\u04ff0-9!*';:=+,.$/%#\\[\\]\\-\\u2013_~@|&{_LATIN_ACCENTS}]"
_PARENS = f"(?:\\((?:{_PATH_CHAR}+|{_PATH_CHAR}*\\({_PATH_CHAR}+\\){_PATH_CHAR}*)\\))"
_PATH_END = f"[+\\-a-zA-Z\\u0400-\\u04ff0-9=_#/{_LATIN_ACCENTS}]"
# twitter-text's path is `/` and then pieces, each "characters ending in an ending character", or "a (group)"
# (its ending rule, "an ending character or a (group)", is spliced in without brackets), or "@…/". Since the
# first kind always takes the longest run it can, what the pieces match is "the longest run ending in an
# ending character, then (groups)": written so, it matches the same in linear time instead of quadratic.
_PATH = f"(?:{_PATH_CHAR}*(?:{_PARENS}{_PATH_CHAR}*)*{_PATH_END})?{_PARENS}*"
_QUERY_CHAR = "[a-zA-Z0-9!?*'@();:&=+$/%#\\[\\]\\-_.,~|]"
_QUERY_END = "[a-zA-Z0-9\\-_&=#/]"

_URL = regex.compile(
    # twitter-text matches UTF-16 units, so a host may begin right after the first half of a character outside
    # the BMP whatever precedes it; the empty alternative reproduces that (`@🏴.example.com` has a URL).
    f"(?P<before>(?=[\\U00010000-\\U0010ffff])|[^A-Za-z0-9@\\uff20$#\\uff03{_class(_INVALID)}]|^)"
    "(?P<url>"
    "(?P<protocol>[hH][tT][tT][pP][sS]?://)?"
    f"(?P<domain>{_DOMAIN})"
    "(?::[0-9]+)?"
    f"(?P<path>/{_PATH})?"
    f"(?:\\?{_QUERY_CHAR}*{_QUERY_END})?"
    ")"
)
_ASCII_LABEL_CHAR = f"[\\-a-zA-Z0-9{_LATIN_ACCENTS}]"
_ASCII_DOMAIN = regex.compile(f"(?:{_ASCII_LABEL_CHAR}+\\.)+{_TLD}")
_IS_ASCII_LABEL_CHAR = regex.compile(_ASCII_LABEL_CHAR)
_TCO = regex.compile(f"[hH][tT][tT][pP][sS]?://[tT]\\.[cC][oO]/([a-zA-Z0-9]+)(?:\\?{_QUERY_CHAR}*{_QUERY_END})?")
_BAD_BEFORE_BARE_URL = regex.compile("[\\-_./]\\Z")
_IDNA_DOTS = re.compile("[.\u3002\uff0e\uff61]")
_MAX_URL_LENGTH = 4096  # UTF-16 units, scheme included
_MAX_TCO_SLUG = 40
_MAX_LABEL = 63


def _utf16_len(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _valid_host(domain: str) -> bool:
    """Every label of the host fits DNS once punycode-encoded (1 to 63 characters), as twitter-text checks."""
    if domain[:4] == "xn--" and not any(_host_starts(domain, ascii_only=True)):
        return False  # a punycode host cannot contain anything but ASCII
    for label in domain.split("."):
        parts = [
            part if all(ord(ch) < 0x7F for ch in part) else "xn--" + part.encode("punycode").decode("ascii")
            for part in _IDNA_DOTS.split(label)
        ]
        if not 1 <= len(".".join(parts)) <= _MAX_LABEL:
            return False
    return True


def _valid_url(url: str, protocol: str, domain: str) -> bool:
    return _valid_host(domain) and _utf16_len(protocol) + _utf16_len(url) <= _MAX_URL_LENGTH


def _host_starts(text: str, *, ascii_only: bool = False) -> list[bool]:
    """For each position, whether a host (labels, then a known top-level domain) can begin there.

    Tried at every position, as a regex search does, the host patterns cost time quadratic in a run of labels
    that never ends in a top-level domain (`a.a.a.…`, or `a.a.…b_c.com`: seconds at 4000 characters). One
    pass from the right computes where a host can begin, by the same label rules, so that the patterns are
    tried only there and find the same matches. `ascii_only` applies the rules of `_ASCII_DOMAIN` (ASCII and
    Latin letters, any hyphens or underscores) instead of `_DOMAIN`'s.
    """
    n = len(text)
    if ascii_only:
        in_label = [_IS_ASCII_LABEL_CHAR.match(ch) is not None for ch in text]
    else:
        in_label = [ch not in _NOT_IN_HOST or ch in "_-" for ch in text]
    starts = [False] * (n + 1)
    run_end, underscore = n, False  # of the label run beginning at the current position
    tld_ok: dict[int, bool] = {}
    for i in range(n - 1, -1, -1):
        if not in_label[i]:
            run_end, underscore = i, False
            continue
        underscore = underscore or text[i] == "_"
        if run_end >= n or text[run_end] != ".":
            continue
        if not ascii_only and (text[i] in "_-" or text[run_end - 1] in "_-"):
            continue  # a label of `_DOMAIN` starts and ends with a letter or digit
        after = run_end + 1
        if after not in tld_ok:
            tld_ok[after] = _TLD_AT.match(text, after) is not None
        # In `_DOMAIN` the last label before the top-level domain has no underscore; the ones before it may.
        last_ok = tld_ok[after] and (ascii_only or not underscore)
        starts[i] = last_ok or starts[after]
    return starts


def _matches_where(pattern: regex.Pattern[str], text: str, could_start: Callable[[int], bool]) -> Iterator[Match]:
    """What `pattern.finditer(text)` finds, trying the pattern only at positions where `could_start`."""
    position = 0
    while position < len(text):
        if could_start(position):
            match = pattern.match(text, position)
            if match is not None:
                yield match
                position = match.end()
                continue
        position += 1


def _url_matches(text: str) -> Iterator[Match]:
    """What `_URL.finditer(text)` finds: the host begins after the preceding character and the scheme."""
    starts = _host_starts(text)

    def could_start(position: int) -> bool:
        for host in (position, position + 1):
            if starts[host] if host < len(text) else False:
                return True
            for scheme in ("http://", "https://"):
                at = host + len(scheme)
                if at < len(text) and starts[at] and text[host:at].lower() == scheme:
                    return True
        return False

    return _matches_where(_URL, text, could_start)


def extract_urls(text: str) -> list[Entity]:
    """The URLs in `text`, with or without `http(s)://`; bare ones need a known top-level domain."""
    if "." not in text:
        return []
    urls: list[Entity] = []
    for match in _url_matches(text):
        url, protocol, domain = match["url"], match["protocol"] or "", match["domain"]
        start, end = match.start("url"), match.end("url")
        if not _valid_url(url, protocol or "https://", domain):
            continue
        if protocol:
            tco = _TCO.match(url)
            if tco is not None:  # a t.co link carries no path beyond its slug
                if len(tco[1]) > _MAX_TCO_SLUG:
                    continue
                url, end = tco[0], start + len(tco[0])
            urls.append(Entity("url", url, start, end))
            continue
        if _BAD_BEFORE_BARE_URL.search(match["before"]):
            continue  # `foo-bar.com` in `x-foo-bar.com` or `/bar.com` in a path is not a URL of its own
        # Without a scheme only the ASCII parts of a host count (`example.com` in `例子example.com`).
        last: Entity | None = None
        domain_start, searched_to = match.start("domain"), 0
        ascii_starts = _host_starts(domain, ascii_only=True)
        for ascii_domain in _matches_where(_ASCII_DOMAIN, domain, ascii_starts.__getitem__):
            # twitter-text places each part where its text first occurs (indexOf), not where it matched;
            # the two differ only when the same host appears twice in one run of text.
            at = domain.find(ascii_domain[0], searched_to)
            searched_to = at + len(ascii_domain[0])
            last = Entity("url", ascii_domain[0], domain_start + at, domain_start + searched_to)
            urls.append(last)
        if last is not None and match["path"]:
            urls[-1] = replace(last, value=url.replace(domain, last.value, 1), end=end)
    return urls


# -- mentions, hashtags, cashtags ----------------------------------------------------------------------------
_MENTION = regex.compile(
    "(?P<before>^|[^a-zA-Z0-9_!#$%&*@\\uff20]|(?:^|[^a-zA-Z0-9_+~.\\-])(?:rt|RT|rT|Rt):?)"
    "[@\\uff20](?P<name>[a-zA-Z0-9_]{1,20})(?P<list>/[a-zA-Z][a-zA-Z0-9_\\-]{0,24})?"
)
_MENTION_AFTER = regex.compile(f"[@\\uff20{_LATIN_ACCENTS}]|://")

_HASHTAG_LETTER = "[\\p{L}\\p{M}]"
_HASHTAG_CHAR = (
    "[\\p{L}\\p{M}\\p{Nd}_\\u200c\\u200d\\ua67e\\u05be\\u05f3\\u05f4\\uff5e\\u301c\\u309b\\u309c\\u30a0\\u30fb"
    "\\u3003\\u0f0b\\u0f0c\\xb7]"
)
_HASHTAG = regex.compile(
    f"(?P<before>^|\\ufe0e|\\ufe0f|(?!{_HASHTAG_CHAR}|&).)"
    "[#\\uff03](?!\\ufe0f|\\u20e3)"
    f"(?P<tag>{_HASHTAG_CHAR}*{_HASHTAG_LETTER}{_HASHTAG_CHAR}*)",
    regex.DOTALL,
)
_HASHTAG_AFTER = regex.compile("[#\\uff03]|://")

_CASHTAG = regex.compile(
    f"(?P<before>^|[{_class(_SPACES)}])\\$(?P<symbol>[a-zA-Z]{{1,6}}(?:[._][a-zA-Z]{{1,2}})?)"
    f"(?=\\Z|[{_class(_JS_SPACE)}]|[{_class(_PUNCT)}])"
)


def extract_mentions(text: str, *, with_lists: bool = False) -> list[Entity]:
    """The `@name` mentions in `text` (names of 1 to 20 characters, as written); `@name/list` references are
    left out unless `with_lists`, then reported as kind "list" with `name/list` as value."""
    if "@" not in text and "\uff20" not in text:
        return []
    found: list[Entity] = []
    for match in _MENTION.finditer(text):
        if _MENTION_AFTER.match(text, match.end()):
            continue  # `@user@host`, `@usuário`, `@http://`: an address, a word or a link, not a mention
        start = match.start() + len(match["before"])
        if match["list"]:
            if with_lists:
                found.append(Entity("list", match["name"] + match["list"], start, match.end()))
            continue
        found.append(Entity("mention", match["name"], start, match.end()))
    return found


def extract_hashtags(text: str, *, skip_urls: bool = True) -> list[Entity]:
    """The `#tag`s in `text`: letters, marks, digits and a few joiners, with at least one letter or mark."""
    if "#" not in text and "\uff03" not in text:
        return []
    tags = []
    for match in _HASHTAG.finditer(text):
        if _HASHTAG_AFTER.match(text, match.end()):
            continue  # `#tag#more` and `#http://…` are not hashtags
        tags.append(Entity("hashtag", match["tag"], match.start() + len(match["before"]), match.end()))
    if skip_urls and tags:
        urls = extract_urls(text)
        if urls:  # a fragment (`example.com/#top`) is part of its URL
            tags = [t for t in _without_overlaps([*tags, *urls]) if t.kind == "hashtag"]
    return tags


def extract_cashtags(text: str) -> list[Entity]:
    """The `$TICKER`s in `text`: 1 to 6 letters, optionally `.` or `_` and 1 or 2 more, after a space or at the
    start."""
    if "$" not in text:
        return []
    return [Entity("cashtag", m["symbol"], m.start() + len(m["before"]), m.end()) for m in _CASHTAG.finditer(text)]


def extract_entities(text: str) -> list[Entity]:
    """Every entity of `text` in order of position, none overlapping another (the earlier one wins), lists
    included as kind "list"."""
    found = [
        *extract_urls(text),
        *extract_mentions(text, with_lists=True),
        *extract_hashtags(text, skip_urls=False),
        *extract_cashtags(text),
    ]
    return _without_overlaps(found)


def _without_overlaps(entities: list[Entity]) -> list[Entity]:
    kept: list[Entity] = []
    for entity in sorted(entities, key=lambda e: e.start):  # stable: on a tie the kind listed first wins
        if kept and kept[-1].end > entity.start:
            continue
        kept.append(entity)
    return kept
