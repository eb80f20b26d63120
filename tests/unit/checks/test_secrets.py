"""SEC-01..05: secret files, credential scans (values never reported), accounts."""

from __future__ import annotations

import pytest
from check_helpers import GARBAGE, LAB_PASSWD, assert_status, assert_value_hidden, fixture, lab_commands, run

from ansible_collections.rampart.hardening.plugins.module_utils.checks.secrets import looks_secret, scan_text
from ansible_collections.rampart.hardening.plugins.module_utils.model import Status

SHADOW = "root:$y$j9T$abc$def:19000:0:99999:7:::\nwww-data:*:19000:0:99999:7:::\npostgres:!:19000::::::\n"
SECRET = "Zt8#kq2LmW9pXv4r"
REDIS_CONF = "/etc/redis/redis.conf"


def test_secret_files(make_facts):
    files = {"/root/.pgpass": ("*:*:*:app:x\n", 0o600), "/etc/rampart/intent/redis.json": ("{}", 0o600)}
    assert_status(run("SEC-01", make_facts(commands=lab_commands(), files=files)), Status.PASS)
    files["/srv/app/.env"] = (f"DB_PASSWORD={SECRET}\n", 0o644)
    result = run("SEC-01", make_facts(commands=lab_commands(), files=files))
    assert_status(result, Status.FAIL)
    assert "/srv/app/.env" in result.message


def test_no_secret_files_is_not_applicable(make_facts):
    assert_status(run("SEC-01", make_facts(commands=lab_commands(nginx=None))), Status.NOT_APPLICABLE)


def test_secret_files_with_garbage_nginx_is_an_error(make_facts):
    assert_status(run("SEC-01", make_facts(commands=lab_commands(nginx=GARBAGE))), Status.ERROR)


@pytest.mark.parametrize(
    ("path", "content", "mode", "expected"),
    [
        ("/etc/systemd/system/app.service", f"[Service]\nEnvironment=API_TOKEN={SECRET}\n", 0o644, Status.FAIL),
        (
            "/etc/systemd/system/app.service",
            "[Service]\nEnvironment=API_TOKEN=${TOKEN}\nEnvironmentFile=/etc/app.env\n",
            0o644,
            Status.PASS,
        ),
        (
            # a commented-out value that looks like real key material is as readable as a live one
            "/etc/systemd/system/app.service",
            f"[Service]\nExecStart=/bin/app\n# password={SECRET}\n",
            0o644,
            Status.FAIL,
        ),
        ("/etc/systemd/system/app.service", "[Service]\nExecStart=/bin/app\n# password=changeme\n", 0o644, Status.PASS),
        (
            "/etc/systemd/system/app.service",
            f"[Service]\nExecStart=/usr/bin/app --db-url postgres://app:{SECRET}@db/app\n",
            0o644,
            Status.FAIL,
        ),
        ("/srv/app/.env", f"APP_ENV=prod\nSTRIPE_SECRET={SECRET}\n", 0o644, Status.FAIL),
        ("/srv/app/.env", f"APP_ENV=prod\nSTRIPE_SECRET={SECRET}\n", 0o600, Status.NOT_APPLICABLE),
        (REDIS_CONF, f"requirepass {SECRET}\n", 0o644, Status.FAIL),
        (REDIS_CONF, f"requirepass {SECRET}\n", 0o640, Status.NOT_APPLICABLE),  # not world-readable
        ("/etc/default/app", f"DATABASE_URL=postgres://app:{SECRET}@db/app\n", 0o644, Status.FAIL),
    ],
)
def test_credentials_in_world_readable_files(make_facts, path, content, mode, expected):
    result = run("SEC-02", make_facts(commands=lab_commands(), files={path: (content, mode)}))
    assert_status(result, expected)
    assert_value_hidden(result, SECRET)


def test_scanner_ignores_placeholders_and_low_entropy():
    assert not looks_secret("changeme")
    assert not looks_secret("${DB_PASSWORD}")
    assert not looks_secret("aaaaaaaa")
    assert looks_secret(SECRET)
    assert [what for _unused, what in scan_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")] == ["private key block"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("/usr/bin/redis-cli -a Zt8kq2LmW9pXv4r PING", Status.FAIL),
        ("/usr/bin/mysql -uroot -pZt8kq2LmW9pXv4r", Status.FAIL),
        ("/usr/bin/app --password=Zt8kq2LmW9pXv4r", Status.FAIL),
        ("/usr/bin/app --password-file=/run/secrets/db", Status.PASS),
    ],
)
def test_credentials_in_process_arguments(make_facts, args, expected):
    ps = fixture("systemd/ps-lab.txt") + f" 1000  4242 {args}\n"
    result = run("SEC-03", make_facts(commands=lab_commands(ps=ps)))
    assert_status(result, expected)
    assert "Zt8kq2LmW9pXv4r" not in result.message + " ".join(result.evidence)


@pytest.mark.parametrize("ps", [GARBAGE, None])
def test_process_list_unavailable_is_an_error(make_facts, ps):
    assert_status(run("SEC-03", make_facts(commands=lab_commands(ps=ps))), Status.ERROR)


@pytest.mark.parametrize(
    ("shadow", "passwd", "mode", "expected"),
    [
        (SHADOW, LAB_PASSWD, 0o640, Status.PASS),
        (SHADOW + "guest::19000:0:99999:7:::\n", LAB_PASSWD, 0o640, Status.FAIL),
        (SHADOW, LAB_PASSWD + "toor:x:0:0::/root:/bin/bash\n", 0o640, Status.FAIL),
        (SHADOW, LAB_PASSWD, 0o644, Status.FAIL),
        (None, LAB_PASSWD, 0o640, Status.ERROR),
        (SHADOW, "root:x:0\n", 0o640, Status.ERROR),
    ],
)
def test_accounts(make_facts, shadow, passwd, mode, expected):
    files = {"/etc/passwd": passwd, **({"/etc/shadow": (shadow, mode)} if shadow else {})}
    assert_status(run("SEC-04", make_facts(commands=lab_commands(), files=files)), expected)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({}, Status.PASS),
        ({REDIS_CONF: "bind 127.0.0.1\nrequirepass foobared\n"}, Status.FAIL),
        ({REDIS_CONF: "bind 127.0.0.1\n"}, Status.FAIL),  # implicit default user, no password
        ({"/etc/rabbitmq/rabbitmq.conf": "loopback_users.guest = false\n"}, Status.FAIL),
        ({REDIS_CONF: GARBAGE}, Status.ERROR),
    ],
)
def test_default_passwords(make_facts, files, expected):
    assert_status(run("SEC-05", make_facts(commands=lab_commands(), files=files)), expected)


def test_environment_file_named_by_a_unit_is_scanned(make_facts):
    files = {
        "/etc/systemd/system/app.service": ("[Service]\nEnvironmentFile=-/etc/app/app.env\n", 0o644),
        "/etc/app/app.env": (f"LOG_LEVEL=info\nAPI_TOKEN={SECRET}\n", 0o644),
    }
    result = run("SEC-02", make_facts(commands=lab_commands(), files=files))
    assert_status(result, Status.FAIL)
    assert "/etc/app/app.env:2: credential assigned to API_TOKEN" in result.message
    assert_value_hidden(result, SECRET)
    files["/etc/app/app.env"] = (f"LOG_LEVEL=info\nAPI_TOKEN={SECRET}\n", 0o600)
    assert_status(run("SEC-02", make_facts(commands=lab_commands(), files=files)), Status.PASS)


@pytest.mark.parametrize(
    "args",
    [
        "/usr/bin/worker --broker amqp://jobs:Zt8kq2LmW9pXv4r@rabbit/vhost",
        "/usr/bin/curl -H Authorization: Bearer Zt8kq2LmW9pXv4r https://api.example",
        "/usr/bin/mysql -h db -u app -p'Zt8kq2LmW9pXv4r'",
        "/usr/bin/app --api-key Zt8kq2LmW9pXv4r",
    ],
)
def test_more_argv_spellings_fail(make_facts, args):
    ps = fixture("systemd/ps-lab.txt") + f" 1000  4242 {args}\n"
    result = run("SEC-03", make_facts(commands=lab_commands(ps=ps)))
    assert_status(result, Status.FAIL)
    assert "Zt8kq2LmW9pXv4r" not in result.message + " ".join(result.evidence)


def test_config_scan_without_files_is_not_applicable_and_tolerates_binary(make_facts):
    assert_status(run("SEC-02", make_facts(commands=lab_commands())), Status.NOT_APPLICABLE)
    files = {"/etc/default/blob": (GARBAGE * 50, 0o644)}
    assert_status(run("SEC-02", make_facts(commands=lab_commands(), files=files)), Status.PASS)
