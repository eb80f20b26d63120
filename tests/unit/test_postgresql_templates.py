"""Render the postgresql role's templates the way Ansible does and check what they emit."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

ROLE = Path(__file__).resolve().parents[2] / "roles" / "postgresql"


def render(name: str, **overrides: Any) -> str:
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    context = {
        **{k: v for k, v in defaults.items() if "{{" not in str(v)},
        "ansible_managed": "Ansible managed",
        "__rampart_postgresql_conf_dir": "/etc/postgresql/15/main",
        "__rampart_postgresql_data_dir": "/var/lib/postgresql/15/main",
        "__rampart_postgresql_bin_dir": "/usr/lib/postgresql/15/bin",
        "__rampart_postgresql_check_script": "/usr/local/sbin/rampart-postgresql-configcheck",
        **overrides,
    }
    env = jinja2.Environment(trim_blocks=True, undefined=jinja2.StrictUndefined, autoescape=False)
    env.filters["basename"] = lambda path: Path(path).name
    return env.from_string((ROLE / "templates" / name).read_text()).render(context)


def hba_lines(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_hba_has_peer_for_postgres_and_hostssl_scram_only() -> None:
    text = render(
        "pg_hba.conf.j2",
        rampart_postgresql_hba=[
            {"database": "appdb", "user": "app", "source": "10.0.1.0/24"},
            {"database": "appdb", "user": "app_ro", "source": "10.0.3.7"},
            {"database": "appdb", "user": "app", "source": "fd00::7"},
        ],
    )
    lines = hba_lines(text)
    assert lines[0] == ["local", "all", "postgres", "peer"]
    assert lines[1:] == [
        ["hostssl", "appdb", "app", "10.0.1.0/24", "scram-sha-256"],
        ["hostssl", "appdb", "app_ro", "10.0.3.7/32", "scram-sha-256"],
        ["hostssl", "appdb", "app", "fd00::7/128", "scram-sha-256"],
    ]
    methods = {line[-1] for line in lines}
    assert methods <= {"peer", "scram-sha-256"}
    assert not {line[0] for line in lines} & {"host", "hostnossl"}


def test_hba_without_entries_allows_no_tcp_at_all() -> None:
    assert hba_lines(render("pg_hba.conf.j2", rampart_postgresql_hba=[])) == [["local", "all", "postgres", "peer"]]


def settings(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        match = re.match(r"^([a-z_.]+) = (.*)$", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def test_conf_carries_the_hardened_settings() -> None:
    conf = settings(render("postgresql.conf.j2", rampart_postgresql_listen_addresses=["127.0.0.1", "10.0.2.10"]))
    assert conf["listen_addresses"] == "'127.0.0.1,10.0.2.10'"
    assert conf["password_encryption"] == "scram-sha-256"
    assert conf["ssl"] == "on"
    assert conf["ssl_min_protocol_version"] == "'TLSv1.2'"
    assert conf["ssl_prefer_server_ciphers"] == "off"
    assert conf["log_connections"] == "on"
    assert conf["log_disconnections"] == "on"
    assert conf["port"] == "5432"
    for weak in ("CBC", "RC4", "3DES", "NULL", "EXPORT", "DHE-RSA"):
        assert weak not in conf["ssl_ciphers"].replace("ECDHE-RSA", "")


def test_conf_d_is_read_before_the_role_settings() -> None:
    text = render("postgresql.conf.j2", rampart_postgresql_settings={"work_mem": "8MB"})
    order = [line.split(" = ")[0] for line in text.splitlines() if " = " in line and not line.startswith("#")]
    assert order.index("include_dir") < order.index("listen_addresses") < order.index("ssl")
    assert order[-1] == "work_mem"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("8MB", "'8MB'"), (True, "'on'"), (False, "'off'"), (64, "'64'"), ("it's", "'it''s'")],
)
def test_extra_settings_are_quoted(value: Any, expected: str) -> None:
    conf = settings(render("postgresql.conf.j2", rampart_postgresql_settings={"x.setting": value}))
    assert conf["x.setting"] == expected


def test_configcheck_never_touches_the_live_cluster() -> None:
    script = render("configcheck.sh.j2")
    assert script.startswith("#!/bin/sh")
    for override in (
        "data_directory=$work/data",
        "hba_file=$work/pg_hba.conf",
        "listen_addresses= ",
        "unix_socket_directories=$work",
    ):
        assert override in script
