"""The scoring formulas on synthetic streams of hashtag uses, bucket by bucket, as the service runs them.

`Stream` is a small reference model of the window (what TrendWindows computes in Redis): it turns uses into
TagWindows and takes one baseline sample per bucket, then ranks with the real scoring functions.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import pytest

from services.trends import scoring
from services.trends.scoring import Baseline, Params, TagWindow

PARAMS = Params()  # the service's defaults: 1-minute buckets, a 1-hour window


@dataclass
class Stream:
    params: Params = PARAMS
    uses: dict[int, list[tuple[str, int]]] = field(default_factory=lambda: defaultdict(list))  # bucket -> uses
    baselines: dict[str, Baseline] = field(default_factory=dict)
    bucket: int = 0

    def post(self, tag: str, *authors: int) -> None:
        """One tweet with `tag` by each of `authors`, in the current bucket."""
        self.uses[self.bucket] += [(tag, a) for a in authors]

    def windows(self) -> list[TagWindow]:
        tweets: dict[str, int] = defaultdict(int)
        last_use: dict[str, dict[int, int]] = defaultdict(dict)  # tag -> author -> buckets ago (smallest)
        for ago in range(self.params.window_buckets):
            for tag, author in self.uses.get(self.bucket - ago, []):
                tweets[tag] += 1
                last_use[tag].setdefault(author, ago)
        windows = []
        for tag, authors in last_use.items():
            firsts: dict[int, int] = defaultdict(int)
            for ago in authors.values():
                firsts[ago] += 1
            windows.append(TagWindow(tag, tweets[tag], dict(firsts)))
        return windows

    def trends(self, limit: int = 10) -> list[scoring.Trend]:
        return scoring.rank(self.windows(), self.baselines, bucket=self.bucket, params=self.params, limit=limit)

    def end_bucket(self) -> None:
        """Take the bucket's baseline sample (as the service does at its first refresh in it) and move on."""
        for window in self.windows():
            self.baselines[window.tag] = scoring.sampled(
                self.baselines.get(window.tag), scoring.activity(window, self.params), self.bucket, self.params
            )
        self.bucket += 1

    def run(self, buckets: int, each_bucket: dict[str, int], *, pool: int = 1000) -> None:
        """`buckets` buckets in which each tag is posted by `each_bucket[tag]` authors drawn in turn from a pool."""
        counter: dict[str, int] = defaultdict(int)
        for _ in range(buckets):
            for tag, n in each_bucket.items():
                authors = [hash((tag, (counter[tag] + i) % pool)) % 10**9 for i in range(n)]
                counter[tag] += n
                self.post(tag, *authors)
            self.end_bucket()


def _by_tag(trends: list[scoring.Trend]) -> dict[str, scoring.Trend]:
    return {t.tag: t for t in trends}


def test_a_sudden_tag_outranks_a_steadily_popular_one_with_far_more_tweets() -> None:
    stream = Stream()
    stream.run(6 * 60, {"weather": 20})  # six hours of 20 different people a minute
    stream.post("weather", *range(10_000, 10_020))
    stream.post("eclipse", *range(1, 9))  # 8 people, out of nowhere
    trends = stream.trends()
    assert trends[0].tag == "eclipse"
    found = _by_tag(trends)
    weather_tweets = 60 * 20 + 20
    if "weather" in found:  # it may rank, but far below
        assert found["weather"].score < trends[0].score / 4
        assert found["weather"].tweet_count == weather_tweets
    assert found["eclipse"].tweet_count == 8
    assert found["eclipse"].author_count == 8


def test_a_steady_tag_alone_does_not_trend_but_a_new_tag_does() -> None:
    stream = Stream()
    stream.run(4 * 60, {"news": 10})
    assert "news" not in _by_tag(stream.trends())
    stream.post("launch", 1, 2, 3)
    trends = stream.trends()
    assert [t.tag for t in trends] == ["launch"]
    # A new tag: no baseline, so the score is its activity over sqrt(K): 3 authors now = 3.
    assert trends[0].score == pytest.approx(3.0)


def test_a_popular_tag_that_suddenly_triples_trends() -> None:
    stream = Stream()
    stream.run(6 * 60, {"football": 10, "cooking": 10})
    stream.run(10, {"football": 30, "cooking": 10})
    found = _by_tag(stream.trends())
    assert "football" in found
    assert found["football"].score > 3
    assert "cooking" not in found or found["cooking"].score < found["football"].score / 3


def test_one_account_cannot_make_a_trend_however_much_it_posts() -> None:
    stream = Stream()
    for _ in range(200):
        stream.post("buymycoin", 666)
    assert stream.trends() == []
    window = next(w for w in stream.windows() if w.tag == "buymycoin")
    assert (window.tweet_count, window.author_count) == (200, 1)
    assert scoring.activity(window, PARAMS) == pytest.approx(1.0)  # one vote, however many tweets


def test_a_spammer_with_two_friends_ranks_below_fewer_tweets_from_more_people() -> None:
    stream = Stream()
    for _ in range(100):
        stream.post("spam", 666)
    stream.post("spam", 667, 668)
    stream.post("real", 1, 2, 3, 4, 5)
    trends = stream.trends()
    assert [t.tag for t in trends] == ["real", "spam"]
    assert trends[1].tweet_count == 102 and trends[1].author_count == 3


def test_a_burst_decays_and_a_lasting_one_becomes_the_baseline() -> None:
    stream = Stream()
    stream.post("quake", *range(1, 21))
    stream.end_bucket()
    first = _by_tag(stream.trends())["quake"].score
    stream.run(15, {})  # 15 quiet minutes: one recency half-life
    later = _by_tag(stream.trends())["quake"].score
    assert later < first * 0.6
    stream.run(50, {})  # the burst leaves the window entirely
    assert "quake" not in _by_tag(stream.trends())

    lasting = Stream()
    lasting.run(2, {"election": 30}, pool=30)
    early = _by_tag(lasting.trends())["election"].score
    lasting.run(12 * 60, {"election": 30}, pool=30)  # the same 30 people, for twelve hours
    assert "election" not in _by_tag(lasting.trends()), "a burst that lasts is the new normal"
    assert early > 10


def test_baselines_take_one_sample_per_bucket_and_exclude_the_current_one() -> None:
    first = scoring.sampled(None, 5.0, 10, PARAMS)
    assert scoring.sampled(first, 50.0, 10, PARAMS) == first  # a second sample in the bucket is ignored
    assert scoring.level(first, 10, PARAMS) == 0.0  # nothing before bucket 10 yet
    d = PARAMS.alpha
    # At bucket 11: one slot of history holding 5, plus P0 = 30 empty slots of prior.
    assert scoring.level(first, 11, PARAMS) == pytest.approx(5.0 * d / (d + 30))
    second = scoring.sampled(first, 7.0, 12, PARAMS)
    # Within bucket 12 (after its sample), the level still covers only the samples before it.
    expected = (5.0 * d**2) / (d + d**2 + 30)
    assert scoring.level(second, 12, PARAMS) == pytest.approx(expected)


def test_weights_halve_every_half_life() -> None:
    params = Params(bucket_seconds=60, half_life_seconds=600)
    assert params.weight(0) == 1.0
    assert params.weight(10) == pytest.approx(0.5)
    assert params.window_buckets == 60
    assert Params(bucket_seconds=7, window_seconds=30).window_buckets == 5
    assert params.bucket_of(119.9) == 1 and params.bucket_of(-0.5) == -1


def test_score_is_a_smoothed_z_score() -> None:
    assert scoring.score(3.0, 0.0, PARAMS) == pytest.approx(3.0)
    assert scoring.score(20.0, 20.0, PARAMS) == 0.0
    assert scoring.score(40.0, 20.0, PARAMS) == pytest.approx(20 / math.sqrt(20 + 1 + 5**2))
    # Big tags: the relative noise dominates, so doubling scores about 1 / c = 4, not sqrt(10_000) = 100.
    assert scoring.score(20_000.0, 10_000.0, PARAMS) == pytest.approx(4.0, rel=0.01)


@pytest.mark.parametrize(
    "bad",
    [
        {"bucket_seconds": 0},
        {"bucket_seconds": 60, "window_seconds": 30},
        {"half_life_seconds": 0},
        {"smoothing": -1},
        {"min_authors": 0},
        {"baseline_prior_seconds": -5},
        {"noise": -0.1},
        {"min_score": -1},
    ],
)
def test_params_refuse_nonsense(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Params(**bad)  # type: ignore[arg-type]
