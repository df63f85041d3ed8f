"""Trend scoring: how far a hashtag's recent use rises above its own usual level. Plain Python, no I/O.

Time runs in buckets of B = CHIRP_TRENDS_BUCKET_SECONDS (60 s by default); c is the current bucket and the
window is the R = ceil(CHIRP_TRENDS_WINDOW_SECONDS / B) buckets c-R+1 … c (one hour by default).

**Activity** A — the distinct authors who used the tag in the window, each counted once, at their latest use,
weighted by how recent that use is::

    A = Σ over authors a of 2^(-i_a · B / H)

where i_a is how many buckets ago author a last used the tag and H = CHIRP_TRENDS_HALF_LIFE_SECONDS (900 s).
An account adds at most 1 however often it repeats a tag, so one account cannot push a tag; and a use loses
half its weight every H, so a trend fades once people stop using the tag.

**Baseline** L — the tag's usual activity: the exponentially weighted mean of A, sampled once per bucket
from the bucket the tag was first sampled in (samples with no activity count as 0), with half-life
H_b = CHIRP_TRENDS_BASELINE_HALF_LIFE_SECONDS (one day) and P0 = CHIRP_TRENDS_BASELINE_PRIOR_SECONDS / B
(30 buckets) extra samples of 0, so that a few minutes of history do not yet make a tag "usual"::

    d = 2^(-B / H_b)                     (the decay per bucket)
    S = Σ_{j<c} d^(c-j) · A_j            (the samples before the current bucket)
    N = Σ_{j=first}^{c-1} d^(c-j)        (how many sample slots that is, equally decayed)
    L = S / (N + P0)

**Score** — a z-score of A against L. The variance of a tag's activity is taken as L + K + (c·L)²: Poisson
for small tags, smoothed by K = CHIRP_TRENDS_SMOOTHING (1.0) for tags without history, and for big tags a
relative noise c = CHIRP_TRENDS_NOISE (0.25), because popular tags swing by a share of their size (news
cycles, time of day) far more than a Poisson count would::

    score = (A - L) / sqrt(L + K + (c·L)²)

So a steadily popular tag (A ≈ L) scores about 0 however big it is, and needs to rise by several times c to
trend; a new tag that n people use right now scores about n / sqrt(K); and a burst that goes on becomes the
tag's baseline and stops trending. A tag is listed only with at least CHIRP_TRENDS_MIN_AUTHORS (3) distinct
authors in the window and a score of at least CHIRP_TRENDS_MIN_SCORE (1.0).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["Baseline", "Params", "TagWindow", "Trend", "activity", "level", "rank", "sampled", "score"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Params:
    """The constants of the formulas above (defaults are the service's)."""

    bucket_seconds: int = 60
    window_seconds: int = 3600
    half_life_seconds: float = 900.0
    baseline_half_life_seconds: float = 86400.0
    baseline_prior_seconds: float = 1800.0
    smoothing: float = 1.0
    noise: float = 0.25
    min_authors: int = 3
    min_score: float = 1.0

    def __post_init__(self) -> None:
        if self.bucket_seconds < 1 or self.window_seconds < self.bucket_seconds:
            raise ValueError("need 1 <= bucket_seconds <= window_seconds")
        if min(self.half_life_seconds, self.baseline_half_life_seconds, self.smoothing) <= 0:
            raise ValueError("half-lives and smoothing must be positive")
        if min(self.baseline_prior_seconds, self.noise, self.min_score) < 0 or self.min_authors < 1:
            raise ValueError("baseline_prior_seconds, noise and min_score must be >= 0, min_authors >= 1")

    @property
    def window_buckets(self) -> int:
        """R: how many buckets the window holds, the current one included."""
        return -(-self.window_seconds // self.bucket_seconds)

    @property
    def alpha(self) -> float:
        """The baseline's decay per bucket."""
        return float(2.0 ** (-self.bucket_seconds / self.baseline_half_life_seconds))

    @property
    def prior_samples(self) -> float:
        """P0: zero samples every baseline starts with."""
        return self.baseline_prior_seconds / self.bucket_seconds

    def bucket_of(self, seconds: float) -> int:
        """The bucket holding the instant `seconds` (Unix time)."""
        return math.floor(seconds / self.bucket_seconds)

    def weight(self, buckets_ago: int) -> float:
        """The weight of a use `buckets_ago` buckets before the current one (1 for the current bucket)."""
        return float(2.0 ** (-buckets_ago * self.bucket_seconds / self.half_life_seconds))


@dataclass(frozen=True, slots=True)
class TagWindow:
    """A hashtag's use in the window."""

    tag: str
    tweet_count: int
    # buckets ago -> how many authors used the tag last in that bucket (each author appears once)
    last_uses: Mapping[int, int]

    @property
    def author_count(self) -> int:
        return sum(self.last_uses.values())


@dataclass(frozen=True, slots=True)
class Baseline:
    """A tag's sampled activity: the decayed sum of its samples as of bucket `at`, which took `last`."""

    total: float
    at: int
    first: int
    last: float


@dataclass(frozen=True, slots=True)
class Trend:
    tag: str
    tweet_count: int
    author_count: int
    activity: float
    baseline: float
    score: float


def activity(window: TagWindow, params: Params) -> float:
    """A: each author once, at their latest use, weighted by its age."""
    return sum(count * params.weight(ago) for ago, count in window.last_uses.items())


def level(baseline: Baseline | None, bucket: int, params: Params) -> float:
    """L at `bucket`: the mean of the samples taken before `bucket`, with P0 zero samples of prior."""
    if baseline is None or bucket <= baseline.first:
        return 0.0
    alpha = params.alpha
    # The samples before `bucket`, decayed to it: a sample taken in `bucket` itself is not part of its own
    # baseline (the service samples at its first refresh in a bucket and scores again later in that bucket).
    total = baseline.total - baseline.last if baseline.at >= bucket else baseline.total
    total *= alpha ** (bucket - baseline.at)
    slots = bucket - baseline.first
    count = slots if alpha >= 1.0 else alpha * (1.0 - alpha**slots) / (1.0 - alpha)
    return max(total, 0.0) / (count + params.prior_samples)


def sampled(baseline: Baseline | None, sample: float, bucket: int, params: Params) -> Baseline:
    """The baseline after taking `sample` (the tag's A) in `bucket`, a later bucket than its last sample."""
    if baseline is None:
        return Baseline(total=sample, at=bucket, first=bucket, last=sample)
    if bucket <= baseline.at:
        return baseline  # one sample per bucket: a second one in the same bucket changes nothing
    return Baseline(
        total=baseline.total * params.alpha ** (bucket - baseline.at) + sample,
        at=bucket,
        first=baseline.first,
        last=sample,
    )


def score(activity_now: float, usual: float, params: Params) -> float:
    return (activity_now - usual) / math.sqrt(usual + params.smoothing + (params.noise * usual) ** 2)


def rank(
    windows: Iterable[TagWindow], baselines: Mapping[str, Baseline], *, bucket: int, params: Params, limit: int
) -> list[Trend]:
    """The top `limit` trends at `bucket`, the highest score first (ties: more authors, then the tag)."""
    trends: list[Trend] = []
    for window in windows:
        authors = window.author_count
        if authors < params.min_authors:
            continue
        now = activity(window, params)
        usual = level(baselines.get(window.tag), bucket, params)
        burst = score(now, usual, params)
        if burst >= params.min_score:
            trends.append(Trend(window.tag, window.tweet_count, authors, now, usual, burst))
    trends.sort(key=lambda t: (-t.score, -t.author_count, t.tag))
    return trends[:limit]
