"""Drift scenario: the agent's timer service audits the host, signs what it finds into a chain,
pushes it to the sink exactly once, and drift.yml collects, verifies and acknowledges it.

The tests run in file order and build on each other (approve, then drift, then collect).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from labhosts import lab_host, must_run

HOST = lab_host("rampart-drift-host")
SINK = lab_host("rampart-drift-sink")
NAME = "rampart-drift-host"
EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
EVIDENCE = EPHEMERAL / "evidence" / NAME
REPO = Path(__file__).resolve().parents[3]
CHAIN = "/var/lib/rampart/chain/evidence.intoto.jsonl"
SINK_CA = EPHEMERAL / "sink-ca" / "ca.pem"


def drift_playbook(*extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "ansible-playbook",
            "-i",
            os.environ["MOLECULE_INVENTORY_FILE"],
            "-e",
            "rampart_drift_hosts=hosts",
            *extra,
            str(REPO / "playbooks" / "drift.yml"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def audit_now() -> None:
    """What the timer does, without waiting for it."""
    must_run(HOST, "systemctl start rampart-audit.service")


def write_file(path: str, text: str) -> None:
    must_run(HOST, 'sh -c \'printf "%%s\\n" "$1" > "$2"\' write %s %s', text, path)


def statements() -> list[dict[str, Any]]:
    lines = must_run(HOST, f"cat {CHAIN}").splitlines()
    return [json.loads(base64.b64decode(json.loads(line)["payload"])) for line in lines]


def last_drift() -> dict[str, Any]:
    return statements()[-1]["predicate"]


def verify_on_host() -> subprocess.CompletedProcess[str]:
    return HOST.run(f"rampart-verify {CHAIN} --key /etc/rampart/agent/host.pub")


def sink_entries() -> dict[str, Any]:
    out = must_run(SINK, "curl -sS --cacert /etc/rampart-sink/sink.pem https://rampart-drift-sink:8443/")
    return json.loads(out)


def test_service_is_sandboxed_and_scheduled() -> None:
    props = must_run(
        HOST,
        "systemctl show rampart-audit.service -p Type -p ProtectSystem -p ReadWritePaths"
        " -p NoNewPrivileges -p PrivateTmp",
    )
    assert "Type=oneshot" in props
    assert "ProtectSystem=strict" in props
    assert "ReadWritePaths=/var/lib/rampart" in props
    assert "NoNewPrivileges=yes" in props
    assert "PrivateTmp=yes" in props
    timer = must_run(HOST, "systemctl show rampart-audit.timer -p TimersCalendar -p Persistent -p RandomizedDelayUSec")
    assert "OnCalendar=*-*-* *:00/15:00" in timer
    assert "Persistent=yes" in timer
    assert "RandomizedDelayUSec=2min" in timer
    assert HOST.service("rampart-audit.timer").is_enabled
    assert HOST.file("/var/lib/rampart").mode == 0o700
    assert HOST.file("/etc/rampart/agent/host.key").mode == 0o600


def test_host_key_is_pinned_on_the_controller() -> None:
    assert (EVIDENCE / "host.pub").read_text() == must_run(HOST, "cat /etc/rampart/agent/host.pub")


def test_service_cannot_write_outside_its_state_dir() -> None:
    # The same sandbox as the service: writing /etc fails, the state dir works.
    probe = "systemd-run --wait --pipe -p ProtectSystem=strict -p ReadWritePaths=/var/lib/rampart"
    assert HOST.run(f"{probe} touch /etc/rampart-probe").rc != 0
    assert HOST.run(f"{probe} touch /var/lib/rampart/probe").rc == 0
    HOST.run("rm -f /var/lib/rampart/probe")


def test_approve_signs_a_baseline_the_agent_accepts() -> None:
    run = drift_playbook("--tags", "approve")
    assert run.returncode == 0, run.stdout[-3000:]
    assert (EVIDENCE / "baseline.dsse.json").exists()
    must_run(HOST, "rampart-agent check-baseline")


def test_timer_service_matches_the_baseline_reports_intent_vs_reality_and_the_chain_verifies() -> None:
    audit_now()
    predicate = last_drift()
    # Nothing changed since approval; the only finding is the stand-in on 6379 that no role's
    # intent declares (compared with the intent, whatever the baseline says).
    assert [(d["kind"], d["key"]) for d in predicate["drift"]] == [("intent_vs_reality", "tcp/0.0.0.0:6379")]
    assert predicate["chain"]["baseline_digest"].startswith("sha256:")
    verified = verify_on_host()
    assert verified.rc == 0, verified.stderr


def test_an_unsigned_baseline_is_refused() -> None:
    saved = must_run(HOST, "cat /var/lib/rampart/baseline.dsse.json")
    envelope = json.loads(saved)
    payload = json.loads(base64.b64decode(envelope["payload"]))
    payload["snapshot"]["listeners"].append("tcp/0.0.0.0:31337")  # an attacker blesses a backdoor
    envelope["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    write_file("/var/lib/rampart/baseline.dsse.json", json.dumps(envelope))
    try:
        assert HOST.run("rampart-agent check-baseline").rc == 3
        assert HOST.run("systemctl start rampart-audit.service").rc != 0
        assert last_drift()["result"] == "BASELINE_REFUSED"
    finally:
        write_file("/var/lib/rampart/baseline.dsse.json", saved.strip())
    must_run(HOST, "rampart-agent check-baseline")


def test_a_hand_added_nft_rule_is_firewall_drift_and_a_new_failed_check() -> None:
    must_run(HOST, "nft insert rule inet rampart input tcp dport 6379 accept")
    audit_now()
    predicate = last_drift()
    kinds = {(d["kind"], d["key"]) for d in predicate["drift"]}
    assert ("firewall_ruleset_changed", "nft ruleset") in kinds
    assert ("check_regressed", "NET-04") in kinds
    # the stand-in really is reachable from the other container now
    assert SINK.run("python3 -c \"import socket; socket.create_connection(('rampart-drift-host', 6379), 3)\"").rc == 0


def test_an_edited_managed_nginx_file_is_reported_as_a_local_change() -> None:
    must_run(
        HOST,
        "echo '# edited by hand' >> /etc/nginx/rampart/sites/drift.conf || echo '# edited' >> /etc/nginx/nginx.conf",
    )
    audit_now()
    files = [d for d in last_drift()["drift"] if d["kind"] == "managed_file_changed"]
    assert files, last_drift()["drift"]
    assert all(d["attribution"]["source"] in ("local", "unowned") for d in files)


def test_a_package_upgrade_like_change_is_labelled_with_the_package() -> None:
    # What an upgrade of nginx-common does to mime.types: new content, and dpkg's record of it.
    script = r"""
set -e
f=/etc/nginx/mime.types
echo '    # upgraded' >> "$f"
sum=$(md5sum "$f" | cut -d' ' -f1)
sed -i "s|^ $f [0-9a-f]*| $f $sum|" /var/lib/dpkg/status
python3 - <<'PY'
import re
path = "/var/lib/dpkg/status"
text = open(path).read()
pattern = r"(Package: nginx-common\n(?:.+\n)*?Version: )(\S+)"
text = re.sub(pattern, lambda m: m.group(1) + m.group(2) + "+upgrade1", text, count=1)
open(path, "w").write(text)
PY
"""
    must_run(HOST, "bash -c %s", script)
    assert "mime.types" not in HOST.run("dpkg --verify nginx-common").stdout
    audit_now()
    item = next(d for d in last_drift()["drift"] if d["key"] == "/etc/nginx/mime.types")
    assert item["attribution"]["source"] == "package"
    assert item["attribution"]["package"] == "nginx-common"
    assert item["attribution"]["version_after"].endswith("+upgrade1")


def test_entries_queue_while_the_sink_is_down_and_arrive_exactly_once() -> None:
    must_run(SINK, "systemctl stop rampart-sink.service")
    audit_now()
    audit_now()
    head = statements()[-1]["predicate"]["chain"]["seq"]
    state = json.loads(must_run(HOST, "cat /var/lib/rampart/push.json"))
    assert state["confirmed"] < head
    assert state["failures"] >= 1
    must_run(SINK, "systemctl start rampart-sink.service")
    must_run(
        SINK,
        "sh -c 'for i in $(seq 50); do curl -s -o /dev/null --cacert /etc/rampart-sink/sink.pem"
        " https://rampart-drift-sink:8443/ && exit 0; sleep 0.2; done; exit 1'",
    )
    must_run(HOST, "rampart-agent push --force")
    got = sink_entries()
    lines = must_run(HOST, f"cat {CHAIN}").splitlines()
    assert [e["seq"] for e in got["entries"]] == list(range(1, len(lines) + 1))
    assert [e["entry"] for e in got["entries"]] == lines
    # a resend (the agent died after sending, before recording the confirmation) is a no-op
    write_file("/var/lib/rampart/push.json", json.dumps({"confirmed": 0, "failures": 0, "next_attempt": 0}))
    must_run(HOST, "rampart-agent push --force")
    again = sink_entries()
    assert again["entries"] == got["entries"]
    # The sink counts posts in memory (they restart with it): every entry was posted once more.
    assert all(count > got["posts"].get(seq, 0) for seq, count in again["posts"].items())


def test_the_sink_refuses_a_different_entry_under_a_seen_seq() -> None:
    body = json.dumps({"host": NAME, "seq": 1, "entry": "forged"})
    out = HOST.run(
        "curl -s -o /dev/null -w '%%{http_code}' --cacert /etc/rampart/agent/push-ca.pem"
        " -H 'Content-Type: application/json' "
        "--data %s https://rampart-drift-sink:8443/",
        body,
    )
    assert out.stdout == "409"


def test_drift_playbook_pulls_verifies_acknowledges_and_reports() -> None:
    run = drift_playbook()
    assert run.returncode == 0, run.stdout[-3000:]
    lines = must_run(HOST, f"cat {CHAIN}").splitlines()
    stored = (EVIDENCE / "chain.intoto.jsonl").read_text().splitlines()
    assert stored == lines
    head = json.loads((EVIDENCE / "head.json").read_text())
    assert head["seq"] == len(lines)
    assert json.loads(must_run(HOST, "cat /var/lib/rampart/acked.json")) == head
    verify = subprocess.run(
        [
            "python",
            "-m",
            "ansible_collections.rampart.hardening.plugins.module_utils.verify",
            str(EVIDENCE / "chain.intoto.jsonl"),
            "--key",
            str(EVIDENCE / "host.pub"),
        ],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, PYTHONPATH=os.environ.get("RAMPART_COLLECTIONS_DIR", "")),
    )
    assert verify.returncode == 0, verify.stderr
    report = json.loads((EPHEMERAL / "reports" / f"drift-{NAME}.json").read_text())
    kinds = {(i["kind"], i["status"]) for i in report["drift"]}
    assert ("firewall_ruleset_changed", "current") in kinds
    fleet = (EPHEMERAL / "reports" / "drift-fleet.html").read_text()
    assert NAME in fleet
    assert "package upgrade: nginx-common" in (EPHEMERAL / "reports" / f"drift-{NAME}.md").read_text()


# ----- self-healing (issue 17 item 4, docs/remediation.md section 8) ----------------------------
# The break: the hand-added nft rule above opened the stand-in's data port 6379 (NET-04 regressed).


ANSWERS = {"applied", "rollback", "refused", "nothing_to_fix", "failed"}


def remediation_entries() -> list[dict[str, Any]]:
    return [s["predicate"] for s in statements() if s["predicate"]["result"].startswith("REMEDIATION_")]


def data_port_reachable() -> bool:
    probe = "python3 -c \"import socket; socket.create_connection(('rampart-drift-host', 6379), 3)\""
    return SINK.run(probe).rc == 0


def firewall_state() -> str:
    """The firewall role's live table (without counters) and its configuration file."""
    return must_run(HOST, "sh -c 'nft -s list table inet rampart; sha256sum /etc/nftables.conf'")


def utc_window(start: datetime, hours: int) -> list[dict[str, Any]]:
    end = start + timedelta(hours=hours)
    return [
        {
            "days": [start.strftime("%a").lower()],
            "start": start.strftime("%H:%M"),
            "end": end.strftime("%H:%M"),
            "timezone": "UTC",
        }
    ]


def windows(is_open: bool) -> str:
    start = datetime.now(UTC) + (timedelta(hours=-1) if is_open else timedelta(hours=6))
    return json.dumps({"rampart_maintenance_windows": utc_window(start, 4 if is_open else 2)})


def set_mode(network: str) -> None:
    """Re-converge the agent's configuration only, as an operator switching the mode would."""
    run = subprocess.run(
        [
            "ansible-playbook",
            "-i",
            os.environ["MOLECULE_INVENTORY_FILE"],
            "--tags",
            "audit_agent_validate,audit_agent_schedule",
            "-e",
            json.dumps({"rampart_audit_agent_remediation": {"network": network}}),
            str(Path(__file__).resolve().parents[1] / "converge.yml"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    config = json.loads(must_run(HOST, "cat /etc/rampart/agent/agent.json"))
    assert config["remediation"] == {"network": network}


def test_report_mode_only_reports_the_broken_firewall() -> None:
    # drift.yml ran above, with the agent in the default report mode and NET-04 regressed
    regressed = [s for s in statements() if ("check_regressed", "NET-04") in kinds_of(s)]
    assert regressed
    assert remediation_entries() == []
    assert data_port_reachable()


def kinds_of(stmt: dict[str, Any]) -> set[tuple[str, str]]:
    return {(d["kind"], d["key"]) for d in stmt["predicate"].get("drift") or []}


def test_a_bad_mode_is_refused_naming_the_variable() -> None:
    run = subprocess.run(
        [
            "ansible-playbook",
            "-i",
            os.environ["MOLECULE_INVENTORY_FILE"],
            "--tags",
            "audit_agent_validate",
            "-e",
            json.dumps({"rampart_audit_agent_remediation": {"network": "fix"}}),
            str(Path(__file__).resolve().parents[1] / "converge.yml"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert run.returncode != 0
    assert "rampart_audit_agent_remediation" in run.stdout + run.stderr


def test_enforce_outside_a_window_records_the_refusal_and_changes_nothing() -> None:
    set_mode("enforce")
    audit_now()  # the timer's next run
    request = statements()[-1]["predicate"]
    assert request["result"] == "REMEDIATION_REQUESTED"
    assert "NET-04" in request["remediation"]["checks"]
    item = next(i for i in request["remediation"]["items"] if i["check"] == "NET-04")
    assert (item["role"], item["tag"]) == ("firewall", "firewall_rules")
    before = firewall_state()
    run = drift_playbook("-e", windows(is_open=False))
    # Drift the host was told to repair and could not: the scheduled job goes red, naming host,
    # request and the next window -- after the refusal is recorded, collected and reported.
    assert run.returncode != 0, run.stdout[-3000:]
    seq = request["chain"]["seq"]
    assert f"{NAME}: self-healing request {seq} (" in run.stderr, run.stderr[-3000:]
    assert "not repaired, answered REFUSED: outside every maintenance window; the next window opens" in run.stderr
    answer = statements()[-1]["predicate"]
    assert answer["result"] == "REMEDIATION_REFUSED"
    assert answer["remediation"]["request"] == request["chain"]["seq"]
    assert answer["remediation"]["next_open"].endswith("Z")
    assert "outside every maintenance window; the next window opens" in answer["remediation"]["window"]
    assert firewall_state() == before
    assert data_port_reachable()
    # the answer reached the controller, verified and acknowledged
    stored = (EVIDENCE / "chain.intoto.jsonl").read_text().splitlines()
    assert stored == must_run(HOST, f"cat {CHAIN}").splitlines()


def test_enforce_inside_a_window_repairs_and_the_chain_records_request_and_outcome() -> None:
    audit_now()  # a refusal holds nothing: the next run asks again
    request = statements()[-1]["predicate"]
    assert request["result"] == "REMEDIATION_REQUESTED"
    seq = request["chain"]["seq"]
    run = drift_playbook("-e", windows(is_open=True))
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    answers = [
        p
        for p in remediation_entries()
        if p["remediation"].get("request") == seq and p["remediation"]["event"] in ANSWERS
    ]
    assert [p["result"] for p in answers] == ["REMEDIATION_APPLIED"]
    assert "NET-04" in answers[0]["remediation"]["fixed"]
    assert not data_port_reachable()
    # the agent's next run: NET-04 passes again, nothing is asked for
    audit_now()
    last = statements()[-1]["predicate"]
    assert last["result"] in ("DRIFT", "NO_DRIFT")
    assert "NET-04" in last["checks"]["passedTests"]
    assert ("check_regressed", "NET-04") not in {(d["kind"], d["key"]) for d in last["drift"]}
    # answered once: the agent refuses a second answer to the same request
    second = json.dumps({"event": "applied", "request": seq})
    assert HOST.run("rampart-agent record --event %s", second).rc == 5
    # request and outcome are in the chain the controller verified
    assert verify_on_host().rc == 0
    run = drift_playbook("--tags", "collect", "-e", "rampart_drift_remediate=false")
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    stored = (EVIDENCE / "chain.intoto.jsonl").read_text()
    assert stored.splitlines() == must_run(HOST, f"cat {CHAIN}").splitlines()


def test_enforce_repairs_drift_that_no_check_names() -> None:
    # A hand-added rule no check fails on (it drops a port nothing listens on): only the ruleset
    # drift tells, and enforce mode re-applies the firewall's rules for it.
    must_run(HOST, "nft insert rule inet rampart input tcp dport 4444 drop")
    audit_now()
    request = statements()[-1]["predicate"]
    assert request["result"] == "REMEDIATION_REQUESTED", request
    assert request["remediation"]["checks"] == []
    assert request["remediation"]["drift"] == ["nft ruleset"]
    assert request["remediation"]["tags"] == ["firewall_rules"]
    seq = request["chain"]["seq"]
    run = drift_playbook("-e", windows(is_open=True))
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert f"self-healing request {seq} (nft ruleset) answered APPLIED" in run.stdout
    answers = [p for p in remediation_entries() if p["remediation"].get("request") == seq]
    assert [p["result"] for p in answers] == ["REMEDIATION_PLANNED", "REMEDIATION_APPLIED"]
    assert answers[-1]["remediation"]["drift"] == ["nft ruleset"]
    assert "4444" not in must_run(HOST, "nft list table inet rampart")
    # the agent's next run: the ruleset is the approved one again, nothing is asked for
    audit_now()
    last = statements()[-1]
    assert last["predicate"]["result"] in ("DRIFT", "NO_DRIFT")
    assert ("firewall_ruleset_changed", "nft ruleset") not in kinds_of(last)
    set_mode("report")


@pytest.mark.parametrize("where", ["payload"])
def test_one_corrupted_byte_makes_drift_yml_fail_naming_host_and_entry(where: str) -> None:
    audit_now()
    seq = statements()[-1]["predicate"]["chain"]["seq"]
    line = must_run(HOST, f"tail -n 1 {CHAIN}")
    envelope = json.loads(line)
    text = envelope[where]
    middle = len(text) // 2
    swapped = "A" if text[middle] != "A" else "B"
    corrupted = line.replace(text, text[:middle] + swapped + text[middle + 1 :])
    rewrite = (
        f"import sys; p='{CHAIN}'; d=open(p).read().splitlines(); d[-1]=sys.argv[1];"
        " open(p,'w').write(chr(10).join(d)+chr(10))"
    )
    must_run(HOST, "python3 -c %s %s", rewrite, corrupted)
    run = drift_playbook()
    assert run.returncode != 0
    assert NAME in run.stdout
    # ansible-core 2.19 prints task errors on stderr, and the YAML callback wraps long
    # messages: search both streams with the line breaks folded back.
    shown = " ".join((run.stdout + run.stderr).split())
    assert f"entry seq {seq}" in shown, shown[-3000:]
    assert "bad signature" in shown, shown[-3000:]
    assert HOST.run(f"rampart-verify {CHAIN} --key /etc/rampart/agent/host.pub").rc == 10
