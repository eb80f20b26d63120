"""DOS-01..06: request limits per public location, brute-force protection."""

from __future__ import annotations

import json

import pytest
from check_helpers import (
    GARBAGE,
    HARDENED,
    STOCK,
    assert_status,
    fixture,
    lab_commands,
    nginx_facts,
    replace,
    run,
    systemctl_show,
)

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status

DOS_IDS = [f"DOS-{n:02d}" for n in range(1, 7)]
NGINX_ONLY = DOS_IDS[:5]


@pytest.mark.parametrize("check_id", DOS_IDS)
def test_hardened_lab_passes(make_facts, check_id):
    assert_status(run(check_id, nginx_facts(make_facts)), Status.PASS)


@pytest.mark.parametrize("check_id", NGINX_ONLY)
def test_absent_nginx_not_applicable_and_garbage_error(make_facts, check_id):
    assert_status(run(check_id, make_facts(commands=lab_commands(nginx=None))), Status.NOT_APPLICABLE)
    assert_status(run(check_id, nginx_facts(make_facts, text=GARBAGE)), Status.ERROR)


@pytest.mark.parametrize(
    ("check_id", "old", "new", "expected"),
    [
        ("DOS-01", "limit_req zone=rampart_general burst=40 nodelay;", "", Status.FAIL),
        ("DOS-01", "zone=rampart_auth burst=5", "zone=rampart_general burst=5", Status.PARTIAL),
        ("DOS-01", "limit_req_zone $binary_remote_addr zone=rampart_general:10m rate=20r/s;", "", Status.FAIL),
        ("DOS-02", "limit_conn rampart_conn 20;", "", Status.FAIL),
        ("DOS-03", "client_max_body_size 1m;", "", Status.FAIL),
        ("DOS-03", "client_max_body_size 16k;", "client_max_body_size 0;", Status.FAIL),
        ("DOS-03", "large_client_header_buffers 4 8k;", "large_client_header_buffers 8 64k;", Status.PARTIAL),
        ("DOS-04", "send_timeout 10s;", "send_timeout 1m;", Status.FAIL),
        ("DOS-04", "keepalive_timeout 10s;", "keepalive_timeout 0;", Status.FAIL),
        ("DOS-04", "client_header_timeout 10s;", "", Status.FAIL),
        ("DOS-05", "if ($request_method !~ ^(GET|HEAD|POST)$) {\n\t\treturn 405;\n\t}", "", Status.FAIL),
        (
            "DOS-05",
            "if ($request_method !~ ^(GET|HEAD|POST)$) {\n\t\treturn 405;\n\t}",
            "location /x {\n\t\tlimit_except GET { deny all; }\n\t\tproxy_pass http://127.0.0.1:8080;\n\t}",
            Status.PARTIAL,
        ),
        ("DOS-06", "limit_req zone=rampart_auth burst=5 nodelay;\n\t\tauth_basic", "auth_basic", Status.PARTIAL),
    ],
)
def test_mutations(make_facts, check_id, old, new, expected):
    assert_status(run(check_id, nginx_facts(make_facts, text=replace(old, new)(HARDENED))), expected)


def test_stock_debian_has_no_limits(make_facts):
    facts = nginx_facts(make_facts, text=STOCK)
    for check_id in ("DOS-01", "DOS-02", "DOS-04", "DOS-05"):
        assert_status(run(check_id, facts), Status.FAIL)


def _without_ssh_meter() -> str:
    document = json.loads(fixture("firewall/default-drop.json"))
    document["nftables"] = [
        item for item in document["nftables"] if "rule" not in item or '"set"' not in json.dumps(item["rule"]["expr"])
    ]
    return json.dumps(document)


def test_ssh_without_throttle_and_no_login_path_fails(make_facts):
    text = replace("location = /login {", "location = /contact {")(HARDENED)
    text = replace("location /admin/ {", "location /about/ {")(text)
    facts = nginx_facts(make_facts, text=text, nft=_without_ssh_meter())
    result = run("DOS-06", facts)
    assert_status(result, Status.FAIL)
    assert "sshd" in result.message


def test_fail2ban_counts_as_ssh_protection(make_facts):
    facts = nginx_facts(make_facts, nft=_without_ssh_meter(), systemctl=systemctl_show(active=["fail2ban.service"]))
    assert_status(run("DOS-06", facts), Status.PASS)


def test_nothing_to_protect_is_not_applicable(make_facts):
    facts = make_facts(commands=lab_commands(nginx=None, ss=""))
    assert_status(run("DOS-06", facts), Status.NOT_APPLICABLE)


def test_malformed_ruleset_is_an_error_for_ssh_part(make_facts):
    facts = nginx_facts(make_facts, nft='{"nftables": [', systemctl=systemctl_show())
    assert_status(run("DOS-06", facts), Status.ERROR)
