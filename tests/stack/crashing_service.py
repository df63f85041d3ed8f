"""A service that fails at start, like one with a bad configuration: `python -m tests.stack.crashing_service`."""

from __future__ import annotations

import sys

if __name__ == "__main__":
    print("crashing_service: CHIRP_EXAMPLE is not set (failing on purpose)", file=sys.stderr)
    sys.exit(3)
