#!/usr/bin/python3
"""Lab stand-in services: accept TCP on each port given (IPv4 and IPv6), say which port."""

import socket
import sys
import threading


def serve(port: int) -> None:
    server = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    server.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("::", port))
    server.listen(64)
    while True:
        conn, _ = server.accept()
        try:
            conn.sendall(f"lab port {port}\n".encode())
        finally:
            conn.close()


threads = [threading.Thread(target=serve, args=(int(p),), daemon=True) for p in sys.argv[1:]]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
