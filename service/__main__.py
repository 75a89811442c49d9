"""``python -m service``: serve the API and web page with uvicorn.

Flags override the ``CLAIMSTANCE_*`` environment, which overrides the defaults.
"""

from __future__ import annotations

import argparse
import logging

import uvicorn

from service.app import create_app
from service.settings import Settings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m service", description=__doc__)
    parser.add_argument("--host", help="interface to bind (CLAIMSTANCE_HOST)")
    parser.add_argument("--port", type=int, help="port to listen on (CLAIMSTANCE_PORT)")
    parser.add_argument("--model-uri", help="model directory or MLflow URI (CLAIMSTANCE_MODEL_URI)")
    parser.add_argument(
        "--device", choices=["auto", "cpu", "cuda"], help="torch device (CLAIMSTANCE_DEVICE)"
    )
    parser.add_argument("--log-level", default="info", help="logging level (default: info)")
    return parser.parse_args(argv)


def settings_from_args(args: argparse.Namespace) -> Settings:
    overrides = {
        "host": args.host,
        "port": args.port,
        "model_uri": args.model_uri,
        "device": args.device,
    }
    # Only flags actually given override; the rest come from the environment.
    return Settings(**{key: value for key, value in overrides.items() if value is not None})


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = settings_from_args(args)
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, log_level=args.log_level
    )


if __name__ == "__main__":
    main()
