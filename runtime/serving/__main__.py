"""`python -m runtime.serving --model M --host H --port P [--workers N]`: start the scoring server.

The argv comes from `runtime.serving.command.serve_argv`; see that module for who starts it and why this way.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from runtime.serving import command
from runtime.serving.app import ENV_MODEL_URI


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m runtime.serving",
                                     description="MLflow scoring server (uvicorn, no nginx) with inference capture.")
    parser.add_argument("--model", default=command.MODEL_DIR,
                        help=f"model directory or MLflow model URI (default {command.MODEL_DIR})")
    parser.add_argument("--host", default="0.0.0.0", help="bind address (default 0.0.0.0)")  # noqa: S104
    parser.add_argument("--port", type=int, default=command.DEFAULT_PORT, help="port (default 8080)")
    parser.add_argument("--workers", type=int, default=None,
                        help=f"uvicorn worker processes (default ${command.ENV_WORKERS} or 1)")
    args = parser.parse_args(argv)
    if args.workers is None:
        raw = os.environ.get(command.ENV_WORKERS, "1")
        if not raw.isdigit() or int(raw) < 1:
            parser.error(f"{command.ENV_WORKERS}={raw!r} is not a positive integer; set it to e.g. 2")
        args.workers = int(raw)
    if args.workers < 1:
        parser.error(f"--workers {args.workers}: at least 1")
    if not 1 <= args.port <= 65535:
        parser.error(f"--port {args.port}: must be 1-65535")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    import uvicorn

    # The workers (separate processes with --workers > 1) load the model from the environment.
    os.environ[ENV_MODEL_URI] = args.model
    uvicorn.run("runtime.serving.app:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, timeout_graceful_shutdown=command.GRACEFUL_SHUTDOWN_S, server_header=False,
                date_header=True, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
