"""SSH-03 from the outside: ssh-audit (PyPI, pinned in requirements.txt) against the host's SSH port.

Runs on the controller (edge_probe). Two runs of the controller's own ssh-audit: a scan
(``-j``: every algorithm the server offers, with ssh-audit's fail/warn notes) and a policy
check (``-P <policy> -j``: the hardening guide's exact lists and key sizes). A server that
cannot be reached or an ssh-audit that cannot run is an ``error``, never a pass.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ansible_collections.rampart.hardening.plugins.module_utils.model import Result, Status, error
from ansible_collections.rampart.hardening.plugins.module_utils.parsers import ParseError
from ansible_collections.rampart.hardening.plugins.module_utils.ssh_policy import (
    DEFAULT_POLICY,
    failed_algorithms,
    parse_scan,
    policy_verdict,
)

Runner = Callable[[Sequence[str], float], tuple[int, str, str]]


def ssh_audit_command() -> list[str]:
    """ssh-audit next to the running interpreter (the venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / "ssh-audit"
    return [str(beside)] if beside.exists() else ["ssh-audit"]


def run_process(argv: Sequence[str], timeout: float) -> tuple[int, str, str]:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        return 127, "", f"{argv[0]}: not installed (pip install ssh-audit)"
    except subprocess.TimeoutExpired:
        return 124, "", f"ssh-audit did not finish within {timeout:.0f} s"
    return done.returncode, done.stdout, done.stderr


def ssh03_live(
    host: str,
    port: int = 22,
    policy: str = DEFAULT_POLICY,
    timeout: float = 10,
    runner: Runner = run_process,
) -> Result:
    """ssh-audit's scan and policy verdict for ``host:port`` as one SSH-03 result."""
    label = f"{host}:{port}"
    base = [*ssh_audit_command(), "-p", str(port), "-t", str(int(max(timeout, 1)))]
    rc, out, err = runner([*base, "-j", host], timeout * 12)
    try:
        report = parse_scan(out)
        failed = failed_algorithms(report)
    except ParseError as exc:
        detail = (err or out).strip().splitlines()[-1:] or [f"rc {rc}"]
        return error(f"ssh-audit could not scan {label}: {exc}", [f"ssh-audit rc {rc}: {detail[0][:200]}"])
    # The policy verdict is judged from the banner and the key exchange only; ssh-audit's DHEat
    # rate test (up to 38 connections over 1.5 s) already ran in the scan above, and repeating it
    # costs every audited host a third of the run's CPU for the same answer.
    rc, out, err = runner([*base, "--skip-rate-test", "-P", policy, "-j", host], timeout * 12)
    try:
        passed, differences = policy_verdict(out)
    except ParseError as exc:
        return error(f"ssh-audit policy check of {label} failed: {exc}", [f"ssh-audit -P rc {rc}: {err.strip()[:200]}"])
    banner = report.get("banner") or {}
    seen = [f"{label} banner {banner.get('raw', '?')}", f"policy '{policy}': {'passed' if passed else 'failed'}"]
    seen += [f"{label} kex offered: {', '.join(e.get('algorithm', '?') for e in report['kex'])}"]
    if failed or not passed:
        message = f"{label}: " + "; ".join(
            part
            for part in (
                f"ssh-audit fails {len(failed)} algorithm(s)" if failed else "",
                f"policy '{policy}' not met" if not passed else "",
            )
            if part
        )
        return Result(Status.FAIL, message, [*failed, *differences, *seen])
    return Result(Status.PASS, f"{label}: no failed algorithm; policy '{policy}' passed", seen)
