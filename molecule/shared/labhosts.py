"""Helpers for molecule verifiers: reach lab containers through podman.

Verifiers test behaviour from *another* lab host (a client container), so they need
handles on several containers by name. testinfra's podman backend runs each command
with `podman exec`, which is fast and needs no Ansible round-trip.
"""

from __future__ import annotations

import testinfra


def lab_host(name: str) -> testinfra.host.Host:
    """Return a testinfra host for the lab container called ``name``."""
    return testinfra.get_host(f"podman://{name}")


def must_run(host: testinfra.host.Host, command: str, *args: str) -> str:
    """Run a command on ``host``, fail the test with its output if it exits non-zero."""
    result = host.run(command, *args)
    shown = command % args if args else command
    assert result.rc == 0, f"{shown!r} failed rc={result.rc}: {result.stderr or result.stdout}"
    return result.stdout
