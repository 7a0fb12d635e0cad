"""Run the emulator as a process: `python -m kms_emulator --port 0 --ready-file F [--seed S] ...`."""

import argparse
import json
import logging
import os
import signal
import sys
import threading

from .errors import ServiceError
from .server import EmulatorServer


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m kms_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free port (default 0)")
    parser.add_argument("--ready-file", help="write a JSON object with url, endpoint templates, admin_url and pid here once ready")
    parser.add_argument("--seed", help="JSON seed file with tenancies, users, vaults and keys")
    parser.add_argument("--state-file", help="keep state in this JSON file across restarts (written mode 0600)")
    parser.add_argument("--latency-ms", type=int, default=0, help="delay added to every API call, in milliseconds")
    parser.add_argument("--throttle-rps", type=float, default=None,
                        help="requests per second allowed per region, tenancy and category before 429")
    parser.add_argument("--lifecycle-delay-ms", type=int, default=50,
                        help="time new vaults, keys and versions spend in CREATING, in milliseconds (default 50)")
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    return parser


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        server = EmulatorServer(host=args.host, port=args.port, seed=args.seed, latency_ms=args.latency_ms,
                                throttle_rps=args.throttle_rps, lifecycle_delay_ms=args.lifecycle_delay_ms,
                                state_file=args.state_file)
        server.start()
    except (ValueError, OSError, ServiceError) as exc:
        print(f"kms_emulator: {exc}", file=sys.stderr)
        return 2

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if args.ready_file:
        ready = {"url": server.url, "kms_endpoint_template": server.kms_endpoint_template,
                 "telemetry_endpoint_template": server.telemetry_endpoint_template,
                 "admin_url": server.admin_url, "pid": os.getpid()}
        temporary = args.ready_file + ".tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(ready, handle)
        os.replace(temporary, args.ready_file)
    while not stop.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
