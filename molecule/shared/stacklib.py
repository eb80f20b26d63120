"""Helpers shared by the stack verifiers (molecule/stack-*): requests from the client
container, bursts for rate limits, the lab vault, and the audit's reports."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import uuid
from pathlib import Path

import testinfra
from labhosts import lab_host, must_run


def curl(
    client: testinfra.host.Host, url: str, address: str, cafile: str, *options: str
) -> tuple[int, dict[str, str], str]:
    """One HTTPS request from ``client`` to ``url`` with its name pinned to ``address``.

    Returns the status, the response headers (lower-case names; the last value wins) and the body.
    """
    host = url.split("/")[2]
    quoted = " ".join(f"'{option}'" for option in options)
    out = client.run(
        f"curl -sS --max-time 20 --cacert {cafile} --resolve {host}:443:{address} -D /tmp/headers {quoted} "
        f"-o /tmp/body -w '%{{http_code}}' '{url}'; echo; cat /tmp/headers; echo '--BODY--'; cat /tmp/body"
    )
    assert out.rc == 0, out.stderr
    status, _, rest = out.stdout.partition("\n")
    raw_headers, _, body = rest.partition("--BODY--\n")
    headers: dict[str, str] = {}
    for line in raw_headers.splitlines():
        name, sep, value = line.partition(":")
        if sep and not name.startswith("HTTP/"):
            headers[name.strip().lower()] = value.strip()
    return int(status), headers, body


def burst(
    client: testinfra.host.Host, url: str, *, address: str, cafile: str, count: int, options: list[str]
) -> tuple[list[int], float]:
    """``count`` requests at once over 8 connections (below every class's limit_conn).

    Returns the statuses and the seconds the burst took (measured on the client).
    """
    host = url.split("/")[2]
    quoted = " ".join(f"'{option}'" for option in options)
    urls = " ".join(f"-o /dev/null '{url}'" for _ in range(count))
    out = client.run(
        "start=$(date +%s%N); "
        f"curl -s --http1.1 --parallel --parallel-immediate --parallel-max 8 --max-time 30 --cacert {cafile} "
        f"--resolve {host}:443:{address} {quoted} -w '%{{http_code}}\\n' {urls}; "
        'echo "elapsed_ms $(( ($(date +%s%N) - start) / 1000000 ))"'
    )
    lines = out.stdout.split()
    assert lines[-2:-1] == ["elapsed_ms"], out.stdout
    elapsed = int(lines[-1]) / 1000
    codes = [int(code) for code in lines[:-2]]
    assert len(codes) == count, out.stdout
    return codes, elapsed


def db_password(scenario: Path, name: str, group: str) -> str:
    """A secret from the scenario's lab vault (group_vars/<group>/vault.yml), decrypted by ansible."""
    vault_file = scenario / "inventory" / "group_vars" / group / "vault.yml"
    env = dict(os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    env.pop("ANSIBLE_CALLBACKS_ENABLED", None)
    proc = subprocess.run(
        [
            "ansible",
            "localhost",
            "-i",
            "localhost,",
            "-c",
            "local",
            "-m",
            "ansible.builtin.debug",
            "-a",
            f"var={name}",
            "-e",
            f"@{vault_file}",
            "--vault-password-file",
            str(scenario / "vault-password"),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"][name]


def report(ephemeral: Path, host: str) -> dict:
    """The newest audit report of ``host`` (side_effect.yml's audit)."""
    runs = sorted((ephemeral / "reports" / host).glob("*/report.json"))
    assert runs, f"no audit report for {host} under {ephemeral / 'reports'}"
    return json.loads(runs[-1].read_text())


def print_scores(host: str, result: dict) -> None:
    """Print the grade and the per-category scores (the verifier runs with -s)."""
    overall = result["overall"]
    print(f"\n== {host}: grade {overall['grade']} ({overall['score']}), model {result.get('scoring_model')}")
    for name, category in sorted(result["categories"].items()):
        print(f"   {name:<12} {category['score']}")
    for finding in result["findings"]:
        if finding["status"] in ("fail", "error", "partial"):
            print(f"   {finding['status'].upper():<8} {finding['id']} {finding['message']}")


def pg_login(
    host: testinfra.host.Host, address: str, database: str, *, user: str, password: str, sslmode: str
) -> tuple[int, str]:
    """A real psql login from ``host``; the exit status and what psql printed (``user|ssl`` on success)."""
    dsn = f"host={address} dbname={database} user={user} sslmode={sslmode} connect_timeout=5"
    sql = "select current_user, ssl from pg_stat_ssl where pid = pg_backend_pid()"
    result = host.run(f"PGPASSWORD={password!r} psql -XAtw {dsn!r} -c {sql!r}")
    return result.rc, (result.stdout + result.stderr).strip()


def put_file(host: testinfra.host.Host, path: str, content: str) -> None:
    """Write ``content`` to ``path`` on ``host`` (certificates the client should trust)."""
    result = host.run(f"cat > {path} <<'RAMPART_EOF'\n{content}\nRAMPART_EOF")
    assert result.rc == 0, result.stderr


# ----- DOS-06 and LOG-03, the same for every stack ----------------------------------------
def ssh_connects(ip: str, attempts: int) -> tuple[int, int]:
    """New TCP connections to sshd from the controller (the bastion), back to back: (accepted, dropped).

    A dropped SYN is retransmitted after a second, when the meter has refilled; the short timeout
    counts the first drop instead of that retry (a handshake with the kernel takes milliseconds).
    """
    accepted = dropped = 0
    for _ in range(attempts):
        try:
            socket.create_connection((ip, 22), timeout=0.5).close()
            accepted += 1
        except OSError:
            dropped += 1
    return accepted, dropped


def assert_ssh_throttled_per_source(name: str) -> None:
    """DOS-06: the bastion gets its burst of 20 new SSH connections, then the firewall drops the excess."""
    accepted, dropped = ssh_connects(must_run(lab_host(name), "hostname -I").split()[0], 45)
    assert accepted >= 20, (accepted, dropped)
    assert dropped > 0, f"{accepted} back-to-back connections accepted, none dropped"


def assert_journal_reaches_log_host(name: str, client: testinfra.host.Host) -> None:
    """LOG-03: a line logged on the stack host arrives at the log host (journal-remote over HTTPS)."""
    marker = f"rampart-stack-{uuid.uuid4()}"
    must_run(lab_host(name), "logger -t rampart-verify %s", marker)
    found = ""
    for _ in range(60):
        found = client.run("journalctl -D /var/log/journal/remote --no-pager -o cat -t rampart-verify").stdout
        if marker in found:
            break
        time.sleep(2)
    assert marker in found, f"the line logged on {name} never reached the log host"
    upload = must_run(lab_host(name), "systemctl show -p ActiveState --value systemd-journal-upload").strip()
    assert upload == "active", upload


def assert_log_channel_verifies_log_host(name: str, client_name: str) -> None:
    """Only HTTPS with a certificate from the log CA the host was given; no plain HTTP."""
    host = lab_host(name)
    url = f"https://{client_name}:19532/"
    verified = host.run("curl -sS -o /dev/null --cacert /etc/rampart/journal-upload/ca.pem %s", url)
    assert verified.rc == 0, verified.stderr
    assert host.run("curl -sS -o /dev/null %s", url).rc != 0, "the log host must not verify against the system store"
    assert host.run("curl -sS -o /dev/null http://%s:19532/", client_name).rc != 0, "plain HTTP must not be spoken"


def assert_checks_pass(ephemeral: Path, name: str, check_ids: tuple[str, ...]) -> None:
    findings = {f["id"]: f for f in report(ephemeral, name)["findings"]}
    for check_id in check_ids:
        assert findings[check_id]["status"] == "pass", findings[check_id]


def assert_grade(ephemeral: Path, name: str, grade: str = "A+") -> dict:
    """The stack host's audit grade, with the scores printed and every non-passing check in the message."""
    result = report(ephemeral, name)
    print_scores(name, result)
    failing = [
        f"{f['id']} {f['status']}: {f['message']}"
        for f in result["findings"]
        if f["status"] in ("fail", "error", "partial")
    ]
    assert result["overall"]["grade"] == grade, failing
    return result
