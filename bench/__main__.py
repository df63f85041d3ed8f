"""`python -m bench` (what `make bench` runs): see bench/README.md."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import uvloop

from bench.config import SCALES, Config
from bench.run import run


def _rates(raw: str) -> tuple[float, ...]:
    try:
        rates = tuple(float(r) for r in raw.split(",") if r.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {raw!r}") from None
    if not rates or any(r <= 0 for r in rates):
        raise argparse.ArgumentTypeError("rates must be positive")
    return rates


def main(argv: list[str] | None = None) -> int:
    defaults = Config(scale=SCALES["moderate"])
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="moderate", help="seeded data (default moderate)")
    parser.add_argument("--rates", type=_rates, default=defaults.rates, help="offered req/s, e.g. 100,250,500,1000")
    parser.add_argument("--step-seconds", type=float, default=defaults.step_seconds, help="length of each step")
    parser.add_argument("--warmup-seconds", type=float, default=defaults.warmup_seconds)
    parser.add_argument("--data-dir", type=Path, default=defaults.data_dir, help="stack data, reused (<dir>/<scale>)")
    parser.add_argument("--fresh", action="store_true", help="wipe the data directory and seed again")
    parser.add_argument("--results-dir", type=Path, default=defaults.results_dir)
    parser.add_argument(
        "--famous-followers",
        type=int,
        default=defaults.famous_followers,
        help="CHIRP_FAMOUS_FOLLOWERS for the stack (default: above every celebrity, so all are pushed)",
    )
    parser.add_argument("--active-fraction", type=float, default=defaults.active_fraction)
    parser.add_argument("--no-lag", action="store_true", help="skip the fan-out lag measurement")
    parser.add_argument("--profile", action="store_true", help="py-spy the services during an extra top-rate step")
    parser.add_argument("--connections", type=int, default=defaults.connections)
    parser.add_argument("--seed-concurrency", type=int, default=defaults.seed_concurrency)
    args = parser.parse_args(argv)
    config = Config(
        scale=SCALES[args.scale],
        rates=args.rates,
        step_seconds=args.step_seconds,
        warmup_seconds=args.warmup_seconds,
        data_dir=args.data_dir,
        fresh=args.fresh,
        results_dir=args.results_dir,
        famous_followers=args.famous_followers,
        active_fraction=args.active_fraction,
        measure_lag=not args.no_lag,
        profile=args.profile,
        connections=args.connections,
        seed_concurrency=args.seed_concurrency,
    )
    command = shlex.join(["python", "-m", "bench", *(sys.argv[1:] if argv is None else argv)])
    _, paths = uvloop.run(run(config, command=command))
    print(paths["markdown"].read_text())
    print(f"results: {paths['json']}, {paths['markdown']}, {paths['plot']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
