#!/usr/bin/env python3
"""Lab evidence sink: an HTTPS endpoint that receives agent pushes, idempotent on (host, seq).

POST / {host, seq, entry}: 201 {"status": "stored"} the first time, 200 {"status": "duplicate"}
when the same entry comes again, 409 when a different entry arrives under a seq already seen.
GET / lists what was stored and how many POSTs each (host, seq) received. State survives
restarts (an append-only JSON Lines file).
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STORED: dict[tuple[str, int], str] = {}
POSTS: dict[str, int] = {}


class Handler(BaseHTTPRequestHandler):
    store = ""

    def _answer(self, code: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        with LOCK:
            entries = [{"host": h, "seq": s, "entry": e} for (h, s), e in sorted(STORED.items())]
            self._answer(200, {"entries": entries, "posts": dict(POSTS)})

    def do_POST(self) -> None:
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            host, seq, entry = str(body["host"]), int(body["seq"]), str(body["entry"])
        except (ValueError, KeyError, TypeError):
            self._answer(400, {"error": "expected {host, seq, entry}"})
            return
        with LOCK:
            POSTS[f"{host}/{seq}"] = POSTS.get(f"{host}/{seq}", 0) + 1
            seen = STORED.get((host, seq))
            if seen is not None:
                if seen == entry:
                    self._answer(200, {"status": "duplicate", "seq": seq})
                else:
                    self._answer(409, {"error": f"a different entry is stored under {host} seq {seq}"})
                return
            with open(self.store, "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"host": host, "seq": seq, "entry": entry}) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            STORED[(host, seq)] = entry
            self._answer(201, {"status": "stored", "seq": seq})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--store", required=True)
    args = parser.parse_args()
    if os.path.exists(args.store):
        with open(args.store, encoding="utf-8") as handle:
            for line in handle:
                item = json.loads(line)
                STORED[(item["host"], item["seq"])] = item["entry"]
    Handler.store = args.store
    server = ThreadingHTTPServer(("0.0.0.0", args.port), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
