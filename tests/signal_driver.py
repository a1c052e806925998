"""Runs `meshjax run` on the toy experiment with slow chunks, in its own process.

Used by tests/test_cli.py to send real signals (SIGINT, SIGTERM) to a real run:
`python tests/signal_driver.py CONFIG OUT`.
"""

import signal
import sys
from pathlib import Path

# A background job of a non-interactive shell starts with SIGINT ignored; a terminal's
# Ctrl-C does not: restore Python's default so early signals behave as they would there.
signal.signal(signal.SIGINT, signal.default_int_handler)

sys.path.insert(0, str(Path(__file__).parent))

import toy_experiment  # noqa: E402

import meshjax.experiments as registry  # noqa: E402
from meshjax import cli  # noqa: E402

if __name__ == "__main__":
    toy_experiment.STATE["sleep"] = 0.05
    registry._discover = lambda: {"toy": toy_experiment.EXPERIMENT}
    sys.exit(cli.main(["run", sys.argv[1], "--out", sys.argv[2]]))
