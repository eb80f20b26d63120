"""Hardened Redis on "cache", proven from "app" with a real redis-cli over the network.

redis-cli prints server errors (NOAUTH, NOPERM, WRONGPASS) on stdout and still exits 0,
so every check reads the reply, not only the exit code. Passwords come from the files
the role generated on the controller (molecule's ephemeral directory); they reach
redis-cli through REDISCLI_AUTH, never a command-line argument.
"""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
from pathlib import Path

import pytest
from labhosts import lab_host, must_run

CACHE = lab_host("rampart-redis-cache")
APP = lab_host("rampart-redis-app")
SERVER = "rampart-redis-cache"
TLS_PORT = 6380
PLAIN_PORT = 6379
CA = "/usr/local/share/rampart-redis-ca.crt"
EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
CREDENTIALS = EPHEMERAL / "credentials" / SERVER


def password(user: str) -> str:
    return (CREDENTIALS / f"{user}.password").read_text().strip()


def cli(*args: str, user: str | None = None, secret: str | None = None, tls: bool = True, port: int = TLS_PORT) -> str:
    """Run redis-cli on the app host against the cache host; return stdout + stderr."""
    command = ["redis-cli", "--no-auth-warning", "-h", SERVER, "-p", str(port)]
    if tls:
        command += ["--tls", "--cacert", CA]
    if user:
        command += ["--user", user]
    env = f"REDISCLI_AUTH={shlex.quote(secret)} " if secret is not None else ""
    result = APP.run(env + " ".join(shlex.quote(part) for part in command + list(args)))
    return (result.stdout + result.stderr).strip()


def as_app(*args: str) -> str:
    return cli(*args, user="app", secret=password("app"))


# --- RDS-03: nothing without a login, from another host ---------------------------------


def test_unauthenticated_ping_gets_noauth() -> None:
    assert cli("PING").startswith("NOAUTH")


def test_unauthenticated_commands_get_noauth() -> None:
    for command in (["GET", "app:x"], ["CONFIG", "GET", "bind"], ["KEYS", "*"]):
        assert cli(*command).startswith("NOAUTH"), command


def test_bad_password_is_refused() -> None:
    reply = cli("PING", user="app", secret="not-the-password-0123456789")
    assert reply.startswith("WRONGPASS") or "AUTH failed: WRONGPASS" in reply, reply


def test_unknown_user_is_refused() -> None:
    assert "WRONGPASS" in cli("PING", user="nobody", secret=password("app"))


# --- RDS-02: the default user cannot log in ---------------------------------------------


@pytest.mark.parametrize("secret", ["", "redis", "foobared", "password"])
def test_default_user_cannot_log_in(secret: str) -> None:
    assert "WRONGPASS" in cli("PING", user="default", secret=secret)


def test_password_only_auth_is_refused() -> None:
    # Legacy `AUTH <password>` logs in as `default`, which is off.
    assert "WRONGPASS" in cli("PING", secret=password("app"))


# --- RDS-04: the application user is least-privilege ------------------------------------


def test_app_user_reads_and_writes_its_keys() -> None:
    assert as_app("SET", "app:molecule", "hello") == "OK"
    assert as_app("GET", "app:molecule") == "hello"
    assert as_app("DEL", "app:molecule") == "1"


@pytest.mark.parametrize(
    "command",
    [
        ["FLUSHALL"],
        ["FLUSHDB"],
        ["CONFIG", "GET", "requirepass"],
        ["CONFIG", "SET", "protected-mode", "no"],
        ["DEBUG", "SLEEP", "0"],
        ["KEYS", "*"],
        ["ACL", "LIST"],
        ["SHUTDOWN", "NOSAVE"],
        ["MODULE", "LIST"],
    ],
)
def test_app_user_is_refused_dangerous_commands(command: list[str]) -> None:
    reply = as_app(*command)
    # DEBUG is refused before the ACL check, since enable-debug-command is "no".
    assert reply.startswith(("NOPERM", "ERR DEBUG command not allowed")), f"{command}: {reply}"


def test_app_user_is_refused_keys_outside_its_pattern() -> None:
    assert as_app("SET", "other:key", "x").startswith("NOPERM")
    assert as_app("GET", "other:key").startswith("NOPERM")
    assert as_app("PUBLISH", "news", "x").startswith("NOPERM")


# --- RDS-05: protected configs, DEBUG and MODULE are off even for the admin --------------


@pytest.mark.parametrize(
    "command",
    [["CONFIG", "SET", "dir", "/tmp"], ["DEBUG", "SLEEP", "0"], ["MODULE", "LOAD", "/tmp/x.so"]],
)
def test_admin_cannot_use_protected_features(command: list[str]) -> None:
    reply = cli(*command, user="admin", secret=password("admin"))
    assert reply.startswith("ERR"), f"{command}: {reply}"


def test_running_settings() -> None:
    admin = {"user": "admin", "secret": password("admin")}
    expected = {
        "protected-mode": "yes",
        "enable-protected-configs": "no",
        "enable-debug-command": "no",
        "enable-module-command": "no",
        "port": "0",
        "tls-port": str(TLS_PORT),
        "maxmemory": str(64 * 1024 * 1024),
        "maxmemory-policy": "allkeys-lru",
        "aclfile": "/etc/redis/users.acl",
    }
    for name, value in expected.items():
        assert cli("CONFIG", "GET", name, **admin).splitlines() == [name, value], name
    # No legacy requirepass: the reply is the name and an empty value.
    assert cli("CONFIG", "GET", "requirepass", **admin).strip() == "requirepass"


# --- RDS-01: TLS only, certificate verified, plaintext refused ---------------------------


def test_tls_connection_works_and_verifies_the_certificate() -> None:
    assert as_app("PING") == "PONG"
    # The same server, checked against the public CA bundle instead: the handshake fails,
    # so the success above really verified the internal CA's certificate.
    reply = APP.run(f"redis-cli --tls --cacert /etc/ssl/certs/ca-certificates.crt -h {SERVER} -p {TLS_PORT} PING")
    assert "certificate verify failed" in reply.stdout + reply.stderr


def test_only_tls_1_2_and_1_3_are_accepted() -> None:
    # SECLEVEL=0 lets the client offer the old protocols, so a refusal comes from Redis.
    base = (
        f"openssl s_client -connect {SERVER}:{TLS_PORT} -CAfile {CA} -verify_return_error -cipher DEFAULT:@SECLEVEL=0"
    )
    for flag in ("-tls1_2", "-tls1_3"):
        assert APP.run(f"{base} {flag} </dev/null").rc == 0, flag
    for flag in ("-tls1", "-tls1_1"):
        assert APP.run(f"{base} {flag} </dev/null").rc != 0, flag


def test_plaintext_on_the_tls_port_is_refused() -> None:
    reply = cli("PING", user="app", secret=password("app"), tls=False)
    assert "PONG" not in reply
    assert "reset" in reply.lower() or "error" in reply.lower() or "closed" in reply.lower(), reply


def test_plaintext_port_is_closed() -> None:
    reply = cli("PING", tls=False, port=PLAIN_PORT)
    assert "Connection refused" in reply


def test_listens_only_on_declared_addresses() -> None:
    # Every socket on a Redis port (6379 in clear, or the TLS port), whoever holds it: exactly
    # the declared TLS listeners. (The lab image's sshd on 22 is not Redis's business.)
    listening = must_run(CACHE, "ss -Hltn").split("\n")
    sockets = {line.split()[3] for line in listening if line.strip()}
    redis_ports = {"6379", str(TLS_PORT)}
    cache_ip = must_run(CACHE, "hostname -I").split()[0]
    assert {s for s in sockets if s.rsplit(":", 1)[-1] in redis_ports} == {
        f"127.0.0.1:{TLS_PORT}",
        f"{cache_ip}:{TLS_PORT}",
    }


# --- RDS-06 and host files ---------------------------------------------------------------


def test_runs_as_redis() -> None:
    users = must_run(CACHE, "ps -o user= -C redis-server").split()
    assert users
    assert set(users) == {"redis"}


@pytest.mark.parametrize("path", ["/etc/redis/redis.conf", "/etc/redis/users.acl"])
def test_config_and_acl_files_are_private(path: str) -> None:
    f = CACHE.file(path)
    assert (f.user, f.group, f.mode) == ("redis", "redis", 0o640)


def test_acl_file_holds_hashes_not_passwords() -> None:
    acl = CACHE.file("/etc/redis/users.acl").content_string
    for user in ("admin", "app", "rampart-audit"):
        assert password(user) not in acl
    assert "user default off" in acl
    assert "nopass" not in acl


def test_service_cannot_rewrite_its_own_users() -> None:
    # The drop-in makes /etc/redis read-only to the service: even the admin cannot persist
    # users from inside Redis.
    reply = cli("ACL", "SAVE", user="admin", secret=password("admin"))
    assert reply.startswith("ERR"), reply
    assert must_run(CACHE, "systemctl show redis-server -p ReadWritePaths").strip() == (
        "ReadWritePaths=-/var/lib/redis -/var/log/redis -/run/redis"
    )


def test_intent_file() -> None:
    f = CACHE.file("/etc/rampart/intent/redis.json")
    assert (f.user, f.group, f.mode) == ("root", "root", 0o600)
    text = f.content_string
    for user in ("admin", "app", "rampart-audit"):
        assert password(user) not in text
    intent = json.loads(text)
    assert intent["bind"][0] == "127.0.0.1"
    assert intent["port"] == 0
    assert intent["tls"]["enabled"] is True
    assert intent["tls"]["port"] == TLS_PORT
    assert intent["default_user"]["enabled"] is False
    assert [u["name"] for u in intent["users"]] == ["app"]
    assert "password" not in intent["users"][0]
    assert intent["audit_user"]["credentials_file"] == "/etc/rampart/credentials/redis.json"


def test_audit_credentials_work_on_the_host_and_are_read_only() -> None:
    f = CACHE.file("/etc/rampart/credentials/redis.json")
    assert (f.user, f.group, f.mode) == ("root", "root", 0o600)
    assert CACHE.file("/etc/rampart/credentials").mode == 0o700
    creds = json.loads(f.content_string)
    login = (
        f"REDISCLI_AUTH={shlex.quote(creds['password'])} redis-cli --no-auth-warning"
        f" -s {creds['unixsocket']} --user {creds['user']}"
    )
    assert must_run(CACHE, f"{login} CONFIG GET protected-mode").split() == ["protected-mode", "yes"]
    assert "user default off" in must_run(CACHE, f"{login} ACL LIST")
    assert must_run(CACHE, f"{login} SET app:x 1").startswith("NOPERM")
    assert must_run(CACHE, f"{login} CONFIG SET maxmemory 1").startswith("NOPERM")


def test_generated_passwords_are_long_and_private_on_the_controller() -> None:
    assert stat.S_IMODE(CREDENTIALS.stat().st_mode) == 0o700
    for user in ("admin", "app", "rampart-audit"):
        path = CREDENTIALS / f"{user}.password"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert len(password(user)) >= 32


# --- A verbose re-run: no secret in the output, new users applied with ACL LOAD -----------


def test_verbose_converge_prints_no_secret_and_reloads_acl_without_restart() -> None:
    pid_before = must_run(CACHE, "systemctl show redis-server -p MainPID --value").strip()
    reporting_user = {"name": "reporting", "keys": ["report:*"], "commands": ["+@read"]}
    extra = json.dumps({"molecule_redis_extra_users": [reporting_user]})
    run = subprocess.run(
        [
            "ansible-playbook",
            "-v",
            "--diff",
            "-i",
            os.environ["MOLECULE_INVENTORY_FILE"],
            "-e",
            extra,
            str(Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"]) / "converge.yml"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    secrets = [password(u) for u in ("admin", "app", "rampart-audit", "reporting")]
    for secret in secrets:
        assert secret not in output
    # Users changed without a restart: ACL LOAD on the running server.
    assert must_run(CACHE, "systemctl show redis-server -p MainPID --value").strip() == pid_before
    reporting = {"user": "reporting", "secret": password("reporting")}
    assert cli("GET", "report:x", **reporting) == ""
    assert cli("SET", "report:x", "1", **reporting).startswith("NOPERM")
    assert cli("GET", "app:x", **reporting).startswith("NOPERM")
