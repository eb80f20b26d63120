"""Helpers for molecule verifiers: reach lab containers through podman.

Verifiers test behaviour from *another* lab host (a client container), so they need
handles on several containers by name. testinfra's podman backend runs each command
with `podman exec`, which is fast and needs no Ansible round-trip.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess

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


_TCP_PROBE = (
    "import socket,sys\ns=socket.socket(); s.settimeout(5)\n"
    "try:\n s.connect((sys.argv[1], int(sys.argv[2]))); print('open')\n"
    "except ConnectionRefusedError: print('refused')\n"
    "except OSError as e: print('timeout' if 'timed out' in str(e) else 'error '+str(e))\n"
)


def tcp_state(client: testinfra.host.Host, address: str, port: int) -> str:
    """A plain TCP connect from ``client``: 'open', 'refused' (RST) or 'timeout' (dropped)."""
    return must_run(client, f"python3 -c {shlex.quote(_TCP_PROBE)} {address} {port}").strip()


def audit_findings(host: str, checks: list[str]) -> dict[str, dict]:
    """Run rampart.hardening.security_audit on the scenario's ``host`` (only ``checks``): findings by id."""
    env = dict(os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    command = ["ansible", host, "-i", os.environ["MOLECULE_INVENTORY_FILE"], "-m", "rampart.hardening.security_audit"]
    command += ["-a", json.dumps({"checks": checks})]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"][host]
    return {finding["id"]: finding for finding in result["report"]["findings"]}
