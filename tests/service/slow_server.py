"""A service whose requests take as long as a test needs, served as ``python -m service`` does.

    python -m tests.service.slow_server PORT GRACE_S

Run in a subprocess by test_backpressure.py to watch SIGTERM while a request is in
flight: the classifier takes 10 ms a claim, so a 2,000-claim request runs for 20 s
unless it is stopped.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

from service.app import create_app
from service.cli import run_server
from tests.service.support import SlowClassifier, WordEmbedder, make_settings


def main() -> None:
    port, grace = int(sys.argv[1]), float(sys.argv[2])
    logging.basicConfig(level=logging.INFO)
    settings = make_settings(
        Path(tempfile.gettempdir()) / "no-model",
        Path(tempfile.gettempdir()),
        port=port,
        shutdown_grace_s=grace,
        compute_budget_s=600,
        request_timeout_s=600,
    )
    app = create_app(settings, classifier=SlowClassifier(per_text_s=0.01), embedder=WordEmbedder())
    run_server(app, settings, "info")


if __name__ == "__main__":
    main()
