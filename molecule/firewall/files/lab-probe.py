#!/usr/bin/python3
"""Connect to each host:port ([v6]:port) with a timeout; print {"target": true|false} as JSON.

    lab-probe [--timeout 2] [--sequential] 10.0.0.2:5432 [fd00::2]:5432 ...

True means the TCP handshake completed (the port is reachable through the firewall).
Targets are probed in parallel unless --sequential (used to trip per-source rate limits).
"""

import argparse
import json
import socket
from concurrent.futures import ThreadPoolExecutor


def reachable(target: str, timeout: float) -> bool:
    host, _, port = target.rpartition(":")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect((host, int(port)))
        except OSError:
            return False
        return True


parser = argparse.ArgumentParser()
parser.add_argument("--timeout", type=float, default=2.0)
parser.add_argument("--sequential", action="store_true")
parser.add_argument("targets", nargs="+")
args = parser.parse_args()
if args.sequential:
    results = [[t, reachable(t, args.timeout)] for t in args.targets]
    print(json.dumps(results))
else:
    with ThreadPoolExecutor(max_workers=32) as pool:
        answers = list(pool.map(lambda t: reachable(t, args.timeout), args.targets))
    print(json.dumps(dict(zip(args.targets, answers, strict=True))))
