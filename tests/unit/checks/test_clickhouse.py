"""ODB-02 and ODB-05 judge ClickHouse's effective configuration, merged as the server merges it.

Fixtures: Debian 12's packaged config.xml and users.xml (clickhouse-server 18.16) and the
drop-ins the clickhouse role writes; each variant adds or changes one drop-in the way an
operator (or an attacker) could, in another spelling or another file.
"""

from __future__ import annotations

import pytest
from check_helpers import assert_status, fixture, lab_commands, run, systemctl_show

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status

ETC = "/etc/clickhouse-server"
PACKAGED = {f"{ETC}/config.xml": fixture("clickhouse/config.xml"), f"{ETC}/users.xml": fixture("clickhouse/users.xml")}
ROLE = {
    f"{ETC}/config.d/rampart-network.xml": fixture("clickhouse/rampart-network.xml"),
    f"{ETC}/users.d/rampart-users.xml": fixture("clickhouse/rampart-users.xml"),
}
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
APP_INTENT = {"users": [{"name": "app", "readonly": True}]}


def facts_for(make_facts, extra=None, base=None, intent=None):
    files = {**PACKAGED, **(ROLE if base is None else base), **(extra or {})}
    commands = lab_commands(systemctl=systemctl_show(active=["clickhouse-server.service"]))
    return make_facts(commands=commands, files=files, intent=intent or {})


def users_drop_in(body: str, root: str = "yandex") -> str:
    return f"<?xml version='1.0'?><{root}><users>{body}</users></{root}>"


def listen_drop_in(*hosts: str) -> str:
    return "<yandex>" + "".join(f"<listen_host>{h}</listen_host>" for h in hosts) + "</yandex>"


# --- ODB-02 ------------------------------------------------------------------------------------


def test_packaged_defaults_fail(make_facts):
    result = run("ODB-02", facts_for(make_facts, base={}))
    assert_status(result, Status.FAIL)
    assert "no password" in result.message


def test_role_drop_ins_pass(make_facts):
    result = run("ODB-02", facts_for(make_facts))
    assert_status(result, Status.PASS)
    assert any("127.0.0.1, 10.89.1.2" in item for item in result.evidence)


@pytest.mark.parametrize("host", ["::", "0.0.0.0", "::0", "0:0:0:0:0:0:0:0", "[::]", ""])
def test_wildcard_listen_host_fails_in_any_spelling(make_facts, host):
    extra = {f"{ETC}/config.d/zz-open.xml": listen_drop_in(host)}
    assert_status(run("ODB-02", facts_for(make_facts, extra)), Status.FAIL)


def test_wildcard_listen_host_in_conf_d_counts(make_facts):
    users_only = {f"{ETC}/users.d/rampart-users.xml": fixture("clickhouse/rampart-users.xml")}
    extra = {f"{ETC}/conf.d/listen.conf": listen_drop_in("::")}
    assert_status(run("ODB-02", facts_for(make_facts, extra, base=users_only)), Status.FAIL)


def test_drop_ins_merge_in_path_order(make_facts):
    """conf.d/ sorts before config.d/: the role's first listen_host then replaces the text of "::"."""
    extra = {f"{ETC}/conf.d/listen.conf": listen_drop_in("::")}
    result = run("ODB-02", facts_for(make_facts, extra))
    assert_status(result, Status.PASS)
    assert "listen_host: 127.0.0.1, 10.89.1.2" in result.evidence


def test_wildcard_removed_by_a_later_drop_in_passes(make_facts):
    extra = {
        f"{ETC}/config.d/a-open.xml": listen_drop_in("::"),
        f"{ETC}/config.d/b-fix.xml": "<yandex><listen_host remove='1'/></yandex>",
    }
    assert_status(run("ODB-02", facts_for(make_facts, extra)), Status.PASS)


def test_public_listen_host_is_partial(make_facts):
    extra = {f"{ETC}/config.d/zz-public.xml": listen_drop_in("8.8.8.8")}
    assert_status(run("ODB-02", facts_for(make_facts, extra)), Status.PARTIAL)


def test_later_drop_in_reopening_default_fails(make_facts):
    body = "<default><password_sha256_hex remove='1'/><networks replace='1'><ip>::/0</ip></networks></default>"
    extra = {f"{ETC}/users.d/zz-debug.xml": users_drop_in(body, root="clickhouse")}
    assert_status(run("ODB-02", facts_for(make_facts, extra)), Status.FAIL)


@pytest.mark.parametrize(
    "secret",
    [
        "<password></password>",
        "<password/>",
        "<password>  </password>",
        f"<password_sha256_hex>{EMPTY_SHA256}</password_sha256_hex>",
    ],
)
def test_empty_password_in_any_spelling_fails(make_facts, secret):
    body = f"<default replace='replace'>{secret}<networks><ip>::/0</ip></networks></default>"
    extra = {f"{ETC}/users.d/rampart-users.xml": users_drop_in(body)}
    assert_status(run("ODB-02", facts_for(make_facts, extra)), Status.FAIL)


@pytest.mark.parametrize(
    ("networks", "expected"),
    [
        ("<ip>::1</ip><ip>127.0.0.1</ip>", Status.PASS),
        ("<ip>127.0.0.0/8</ip>", Status.PASS),
        ("<host>localhost</host>", Status.PASS),
        ("<host_regexp>^localhost$</host_regexp>", Status.PASS),
        ("<host_regexp>.*</host_regexp>", Status.FAIL),
        ("<ip>10.0.0.0/8</ip>", Status.FAIL),
        ("<ip>0.0.0.0/0.0.0.0</ip>", Status.FAIL),
    ],
)
def test_passwordless_default_must_be_local(make_facts, networks, expected):
    body = f"<default replace='replace'><password></password><networks>{networks}</networks></default>"
    extra = {f"{ETC}/users.d/rampart-users.xml": users_drop_in(body)}
    assert_status(run("ODB-02", facts_for(make_facts, extra)), expected)


def test_passwordless_default_without_networks_fails(make_facts):
    body = "<default replace='replace'><profile>default</profile></default>"
    extra = {f"{ETC}/users.d/rampart-users.xml": users_drop_in(body)}
    assert_status(run("ODB-02", facts_for(make_facts, extra)), Status.FAIL)


def test_removed_default_user_passes(make_facts):
    extra = {f"{ETC}/users.d/rampart-users.xml": users_drop_in("<default remove='remove'/>")}
    result = run("ODB-02", facts_for(make_facts, extra))
    assert_status(result, Status.PASS)
    assert "user 'default' removed" in result.evidence


@pytest.mark.parametrize(("included", "expected"), [("<ip>::1</ip>", Status.PASS), ("<ip>::/0</ip>", Status.FAIL)])
def test_networks_included_from_metrika(make_facts, included, expected):
    """users.xml's <networks incl="networks" replace="replace"> takes /etc/metrika.xml's networks."""
    extra = {"/etc/metrika.xml": f"<yandex><networks>{included}</networks></yandex>"}
    assert_status(run("ODB-02", facts_for(make_facts, extra, base={})), expected)


def test_users_config_elsewhere_is_followed(make_facts):
    config = "<yandex><users_config>/srv/ch/users.xml</users_config><listen_host>::1</listen_host></yandex>"
    files = {f"{ETC}/config.xml": config, "/srv/ch/users.xml": fixture("clickhouse/users.xml")}
    commands = lab_commands(systemctl=systemctl_show(active=["clickhouse-server.service"]))
    assert_status(run("ODB-02", make_facts(commands=commands, files=files)), Status.FAIL)


def test_accepted_wildcard_is_not_applicable_never_pass(make_facts):
    extra = {f"{ETC}/config.d/zz-open.xml": listen_drop_in("::")}
    intent = {"clickhouse": {"accepted_exceptions": {"ODB-02": {"reason": "behind a cloud firewall"}}}}
    result = run("ODB-02", facts_for(make_facts, extra, intent=intent))
    assert_status(result, Status.NOT_APPLICABLE)
    assert "behind a cloud firewall" in result.message


@pytest.mark.parametrize(
    "extra",
    [
        {f"{ETC}/users.d/broken.xml": "<yandex><users>"},
        {f"{ETC}/config.d/broken.xml": "<yandex><listen_host>::</yandex>"},
        {f"{ETC}/users.d/both.xml": users_drop_in("<default replace='1' remove='1'/>")},
        {f"{ETC}/config.xml": "\x00\x01 not xml"},
    ],
)
def test_malformed_config_is_an_error(make_facts, extra):
    assert_status(run("ODB-02", facts_for(make_facts, extra)), Status.ERROR)


def test_missing_config_xml_is_an_error(make_facts):
    commands = lab_commands(systemctl=systemctl_show(active=["clickhouse-server.service"]))
    files = {f"{ETC}/users.xml": fixture("clickhouse/users.xml")}
    assert_status(run("ODB-02", make_facts(commands=commands, files=files)), Status.ERROR)


# --- ODB-05 ------------------------------------------------------------------------------------


def test_role_users_pass(make_facts):
    assert_status(run("ODB-05", facts_for(make_facts, intent={"clickhouse": APP_INTENT})), Status.PASS)


def test_packaged_readonly_user_without_password_fails(make_facts):
    result = run("ODB-05", facts_for(make_facts, base={}))
    assert_status(result, Status.FAIL)
    assert "'readonly' has no password" in result.message


def test_only_default_is_not_applicable(make_facts):
    extra = {f"{ETC}/users.d/rampart-users.xml": users_drop_in("<readonly remove='remove'/>")}
    assert_status(run("ODB-05", facts_for(make_facts, extra)), Status.NOT_APPLICABLE)


@pytest.mark.parametrize(
    "networks",
    [
        "<ip>::/0</ip>",
        "<ip>0.0.0.0/0</ip>",
        "<ip>0.0.0.0/0.0.0.0</ip>",
        "<ip>::ffff:0:0/96</ip>",
        "<host_regexp>.*</host_regexp>",
        "<host_regexp>\\.example\\.com</host_regexp><host_regexp>(</host_regexp>",
    ],
)
def test_app_user_open_to_any_client_fails(make_facts, networks):
    body = f"<app><networks replace='replace'>{networks}</networks></app>"
    extra = {f"{ETC}/users.d/zz.xml": users_drop_in(body)}
    assert_status(run("ODB-05", facts_for(make_facts, extra, intent={"clickhouse": APP_INTENT})), Status.FAIL)


def test_app_user_with_empty_hash_fails(make_facts):
    body = f"<app><password_sha256_hex>{EMPTY_SHA256}</password_sha256_hex></app>"
    extra = {f"{ETC}/users.d/zz.xml": users_drop_in(body)}
    assert_status(run("ODB-05", facts_for(make_facts, extra, intent={"clickhouse": APP_INTENT})), Status.FAIL)


def test_undeclared_writer_is_partial_declared_writer_passes(make_facts):
    extra = {f"{ETC}/users.d/zz.xml": users_drop_in("<app><profile>rampart_writer</profile></app>")}
    assert_status(run("ODB-05", facts_for(make_facts, extra, intent={"clickhouse": APP_INTENT})), Status.PARTIAL)
    writer = {"users": [{"name": "app", "readonly": False}]}
    assert_status(run("ODB-05", facts_for(make_facts, extra, intent={"clickhouse": writer})), Status.PASS)


def test_readonly_inherited_from_a_parent_profile_counts(make_facts):
    profiles = "<profiles><child><profile>rampart_readonly</profile></child></profiles>"
    extra = {f"{ETC}/users.d/zz.xml": f"<yandex>{profiles}<users><app><profile>child</profile></app></users></yandex>"}
    assert_status(run("ODB-05", facts_for(make_facts, extra, intent={"clickhouse": APP_INTENT})), Status.PASS)


def test_quota_without_limits_is_partial(make_facts):
    extra = {f"{ETC}/users.d/zz.xml": users_drop_in("<app><quota>default</quota></app>")}
    result = run("ODB-05", facts_for(make_facts, extra, intent={"clickhouse": APP_INTENT}))
    assert_status(result, Status.PARTIAL)
    assert "no quota limit" in result.message


def test_accepted_open_app_user_is_not_applicable(make_facts):
    extra = {f"{ETC}/users.d/zz.xml": users_drop_in("<app><networks replace='1'><ip>::/0</ip></networks></app>")}
    intent = {"clickhouse": {**APP_INTENT, "accepted_exceptions": {"ODB-05": {"reason": "public demo"}}}}
    assert_status(run("ODB-05", facts_for(make_facts, extra, intent=intent)), Status.NOT_APPLICABLE)


def test_odb05_malformed_is_an_error(make_facts):
    extra = {f"{ETC}/users.d/zz.xml": "<yandex><users><app>"}
    assert_status(run("ODB-05", facts_for(make_facts, extra)), Status.ERROR)


@pytest.mark.parametrize("check_id", ["ODB-02", "ODB-05"])
def test_absent_clickhouse_is_not_applicable(make_facts, check_id):
    assert_status(run(check_id, make_facts(commands=lab_commands())), Status.NOT_APPLICABLE)
