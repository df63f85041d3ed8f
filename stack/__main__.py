"""`python -m stack up` runs the local stack until Ctrl-C or SIGTERM; `render` rewrites the committed configs.

python -m stack up               everything (make up); configuration from CHIRP_* variables
python -m stack render [--check] gateway/edge.yaml and envoy/mesh.yaml from the registry
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from . import render
from .probes import NotReady
from .settings import ConfigError, Settings
from .supervisor import Stack

__all__ = ["main"]

log = logging.getLogger("stack")


async def up(settings: Settings) -> int:
    """Run the stack until a signal; 0 after a clean stop, 1 when it could not start."""
    try:
        stack = Stack(settings)
    except ConfigError as exc:
        log.error("%s", exc)
        return 2
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stopping.set)

    log.info("starting Chirp (data in %s, logs in %s)", stack.data_dir, stack.log_dir)
    starting = asyncio.ensure_future(stack.start())
    stopped = asyncio.ensure_future(stopping.wait())
    await asyncio.wait({starting, stopped}, return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():
        log.info("interrupted while starting; stopping")
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)  # start() stops what it started
        return 1
    stopped.cancel()
    try:
        starting.result()
    except (ConfigError, NotReady) as exc:
        log.error("could not start: %s", exc)
        return 1

    log.info("")
    log.info("Chirp is up: REST API at %s  (Ctrl-C stops it)", stack.edge_url)
    if stack.skipped:
        log.info("not running (no module yet): %s", ", ".join(stack.skipped))
    log.info("/healthz reports every process; one that exits is restarted (logs in %s)", stack.log_dir)
    await stopping.wait()
    log.info("stopping")
    await stack.stop()
    log.info("stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="run the whole local stack until Ctrl-C")
    render_cmd = commands.add_parser("render", help="rewrite gateway/edge.yaml and envoy/mesh.yaml")
    render_cmd.add_argument("--check", action="store_true", help="only report drift (exit 1)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    # The readiness probes poll; one line per probe request would bury the progress lines.
    logging.getLogger("httpx").setLevel(logging.WARNING)

    if args.command == "render":
        if args.check:
            stale = [p for p, text in render.default_configs().items() if not p.is_file() or p.read_text() != text]
            for path in stale:
                log.error("%s is out of date; run `python -m stack render`", path)
            return 1 if stale else 0
        for path in render.write():
            log.info("wrote %s", path)
        return 0

    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        log.error("%s", exc)
        return 2
    return asyncio.run(up(settings))


if __name__ == "__main__":
    sys.exit(main())
