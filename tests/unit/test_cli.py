"""The host-side CLI: runs the engine under a fixture root, formats, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.rampart.hardening.plugins.module_utils import cli

CUSTOM = [
    {
        "id": "SITE-01",
        "title": "shadow is private",
        "severity": "high",
        "file": {"path": "/etc/shadow", "mode_max": "0640"},
    },
    {
        "id": "SITE-02",
        "title": "no telnet in inetd",
        "severity": "low",
        "regex": {"path": "/etc/inetd.conf", "pattern": "telnet", "present": False},
    },
]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    host = tmp_path / "host"
    (host / "etc").mkdir(parents=True)
    shadow = host / "etc" / "shadow"
    shadow.write_text("root:*:19000:0:99999:7:::\n")
    shadow.chmod(0o644)
    (tmp_path / "custom.json").write_text(json.dumps(CUSTOM))
    return tmp_path


def run_cli(root: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(["--root", str(root / "host"), "--custom-checks", str(root / "custom.json"), "--host", "h1", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_output_with_custom_checks(root: Path, capsys) -> None:
    code, out, _unused = run_cli(root, "--categories", "custom", capsys=capsys)
    assert code == 0
    report = json.loads(out)
    statuses = {f["id"]: f["status"] for f in report["findings"]}
    assert statuses == {"SITE-01": "fail", "SITE-02": "pass"}
    assert report["host"] == "h1"
    assert report["categories"]["custom"]["score"] == 1.7  # H fail 0 + L pass 1 = 1 of 6 -> 1.7 (under the 7.0 cap)


def test_min_grade_exit_code_and_formats(root: Path, capsys) -> None:
    code, out, err = run_cli(root, "--categories", "custom", "--format", "markdown", "--min-grade", "B", capsys=capsys)
    assert code == 3
    assert out.startswith("# Rampart security audit: h1")
    assert "below B" in err


def test_waiver_file_and_dest(root: Path, capsys) -> None:
    (root / "waivers.json").write_text(
        json.dumps([{"id": "SITE-01", "reason": "legacy image", "expires": "2999-01-01"}])
    )
    dest = root / "out"
    code, out, _unused = run_cli(
        root,
        "--categories",
        "custom",
        "--waivers",
        str(root / "waivers.json"),
        "--format",
        "json",
        "--format",
        "sarif",
        "--dest",
        str(dest),
        "--min-grade",
        "A",
        capsys=capsys,
    )
    assert code == 0
    assert out.split() == [str(dest / "report.json"), str(dest / "report.sarif")]
    report = json.loads((dest / "report.json").read_text())
    assert report["overall"]["grade"] == "A+"


def test_bad_input_exits_2(root: Path, capsys) -> None:
    (root / "custom.json").write_text(json.dumps([{"id": "X", "title": "t", "severity": "nope", "port": {"port": 1}}]))
    code, _unused, err = run_cli(root, capsys=capsys)
    assert code == 2
    assert "'severity' must be one of" in err


def test_runs_as_python_module(root: Path) -> None:
    import ansible_collections  # noqa: PLC0415 - only to find the collections dir on sys.path

    path = next(p for p in ansible_collections.__path__ if (Path(p) / "rampart").exists())
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ansible_collections.rampart.hardening.plugins.module_utils.cli",
            "--root",
            str(root / "host"),
            "--custom-checks",
            str(root / "custom.json"),
            "--categories",
            "custom",
            "--format",
            "junit",
        ],
        env={"PYTHONPATH": str(Path(path).parent), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith('<?xml version="1.0" encoding="UTF-8"?>')
