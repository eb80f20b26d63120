"""Shared helpers for check tests: real command outputs captured on a Debian 12 lab container.

``lab_commands()`` is a hardened host (the outputs under tests/unit/fixtures); tests
override single commands to build the failing and malformed variants.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.engine import load_builtin_checks, run_check
from ansible_collections.rampart.hardening.plugins.module_utils.model import Result, Status
from ansible_collections.rampart.hardening.plugins.module_utils.probes.packages import DPKG_FORMAT
from ansible_collections.rampart.hardening.plugins.module_utils.probes.postgresql import (
    PRIVILEGES_SQL,
    PSQL,
    SNAPSHOT_SQL,
)
from ansible_collections.rampart.hardening.plugins.module_utils.probes.systemd import PROPERTIES, UNITS
from ansible_collections.rampart.hardening.plugins.module_utils.registry import get_check

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

NGINX_T = ("nginx", "-T")
NGINX_V = ("nginx", "-V")
SSHD_T = ("sshd", "-T")
NFT = ("nft", "-j", "list", "ruleset")
SS = ("ss", "-Htulpn")
SYSCTL = ("sysctl", "-a")
SYSTEMCTL = ("systemctl", "show", "-p", PROPERTIES, *UNITS)
PS = ("ps", "-e", "-o", "uid=", "-o", "pid=", "-o", "args=")
DPKG = ("dpkg-query", "-W", DPKG_FORMAT)
PG_SNAPSHOT = (*PSQL, "-c", SNAPSHOT_SQL)
REDIS_PING = ("redis-cli", "-h", "127.0.0.1", "-p", "6379", "PING")
INTERMEDIATE = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
)
NGINX_BANNER = (
    "nginx version: nginx/1.22.1\nbuilt with OpenSSL 3.0.22 25 Aug 2026\nTLS SNI support enabled\n"
    "configure arguments: --with-http_ssl_module\n"
)
GARBAGE = "\x00\x01 this is not tool output {{{ ]]\n"
LAB_PASSWD = (
    "root:x:0:0:root:/root:/bin/bash\n"
    "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"
    "messagebus:x:100:107::/nonexistent:/usr/sbin/nologin\n"
    "redis:x:101:108::/var/lib/redis:/usr/sbin/nologin\n"
    "postgres:x:103:110:PostgreSQL administrator:/var/lib/postgresql:/bin/bash\n"
)


def fixture(relative: str) -> str:
    return (FIXTURES / relative).read_text(encoding="utf-8")


def privileges_argv(databases: Iterable[str]) -> tuple[str, ...]:
    args: list[str] = []
    for name in databases:
        args += ["-c", f"\\c {name}", "-c", PRIVILEGES_SQL]
    return (*PSQL, *args)


def systemctl_show(
    active: Iterable[str] = (), inactive: Iterable[str] = (), failed: Mapping[str, str] | None = None
) -> str:
    """``systemctl show`` text for UNITS: listed ones loaded (active or not), others not-found."""
    active, inactive, failed = set(active), set(inactive), dict(failed or {})
    blocks = []
    for unit in UNITS:
        if unit in active or unit in inactive or unit in failed:
            state = "active" if unit in active else "inactive"
            load = "loaded"
        else:
            state, load = "inactive", "not-found"
        result = failed.get(unit, "success")
        blocks.append(
            f"Result={result}\nExecMainStatus={1 if unit in failed else 0}\nUser=\nId={unit}\nLoadState={load}\n"
            f"ActiveState={state}\nSubState={'running' if state == 'active' else 'dead'}\n"
            f"UnitFileState={'enabled' if load == 'loaded' else ''}"
        )
    return "\n\n".join(blocks) + "\n"


HARDENED_UNITS = (
    "nginx.service",
    "postgresql.service",
    "redis-server.service",
    "ssh.service",
    "nftables.service",
    "systemd-timesyncd.service",
    "apt-daily-upgrade.timer",
)


def lab_commands(**overrides: Any) -> dict[tuple[str, ...], Any]:
    """The hardened lab host; keyword overrides replace commands by short name."""
    commands: dict[tuple[str, ...], Any] = {
        NGINX_T: fixture("nginx/hardened.txt"),
        NGINX_V: (0, "", NGINX_BANNER),
        ("openssl", "ciphers", "-v", INTERMEDIATE): fixture("nginx/ciphers-intermediate.txt"),
        SSHD_T: fixture("ssh/hardened.txt"),
        NFT: fixture("firewall/default-drop.json"),
        SS: fixture("sockets/lab.txt"),
        SYSCTL: fixture("sysctl/hardened.txt"),
        SYSTEMCTL: systemctl_show(active=HARDENED_UNITS),
        PS: fixture("systemd/ps-lab.txt"),
        DPKG: fixture("packages/dpkg-lab.txt"),
    }
    names = {
        "nginx": NGINX_T,
        "nginx_v": NGINX_V,
        "sshd": SSHD_T,
        "nft": NFT,
        "ss": SS,
        "sysctl": SYSCTL,
        "systemctl": SYSTEMCTL,
        "ps": PS,
        "dpkg": DPKG,
        "psql": PG_SNAPSHOT,
        "redis_ping": REDIS_PING,
    }
    for name, value in overrides.items():
        key = names[name]
        if value is None:
            commands.pop(key, None)
        else:
            commands[key] = value
    return commands


def run(check_id: str, facts: Any) -> Result:
    """Run one registered check the way the engine does; a crash is a test failure."""
    load_builtin_checks()
    registered = get_check(check_id)
    assert registered is not None, f"{check_id} is not registered"
    result = run_check(registered, facts)
    assert not result.message.startswith("check crashed"), result.message
    assert isinstance(result.evidence, list)
    return result


def assert_status(result: Result, expected: Status) -> None:
    assert result.status is expected, f"{result.status.value}: {result.message} {result.evidence}"


def assert_value_hidden(result: Result, value: str) -> None:
    """A finding about a credential never repeats the credential (message or evidence)."""
    assert value not in result.message + " ".join(result.evidence)


# ----- nginx ---------------------------------------------------------------------------------
HARDENED = fixture("nginx/hardened.txt")
STOCK = fixture("nginx/stock-debian.txt")
NGINX_FILES = (
    "/etc/nginx/nginx.conf",
    "/etc/nginx/mime.types",
    "/etc/nginx/conf.d/rampart-tls.conf",
    "/etc/nginx/sites-enabled/rampart-app.conf",
    "/etc/nginx/rampart/security-headers.conf",
)
Mutation = Callable[[str], str]


def replace(old: str, new: str) -> Mutation:
    def mutate(text: str) -> str:
        assert old in text, old
        return text.replace(old, new)

    return mutate


def nginx_facts(make_facts, text: str = HARDENED, files: dict | None = None, extra: dict | None = None, **commands):
    tree = dict.fromkeys(NGINX_FILES, "# nginx config\n")
    tree["/etc/passwd"] = LAB_PASSWD
    tree.update(files or {})
    return make_facts(commands={**lab_commands(nginx=text, **commands), **(extra or {})}, files=tree)


# ----- certificates ---------------------------------------------------------------------------
def make_cert(
    *,
    names: Iterable[str] = ("app.example.test",),
    days_left: float = 60,
    lifetime: float = 90,
    key: str = "ec",
    issuer: tuple[Any, Any] | None = None,
    ocsp: str | None = None,
    digest: str = "sha256",
) -> tuple[str, str, Any]:
    """(cert PEM, key PEM, (cert, key) for signing children)."""
    from cryptography import x509  # noqa: PLC0415
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec, rsa  # noqa: PLC0415
    from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID  # noqa: PLC0415

    if key.startswith(("ec", "p")):
        private = ec.generate_private_key(ec.SECP521R1() if key == "p521" else ec.SECP256R1())
    else:
        private = rsa.generate_private_key(65537, int(key))
    names = list(names)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0] if names else "ca")])
    issuer_cert, issuer_key = issuer if issuer else (None, private)
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert else subject)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=days_left - lifetime))
        .not_valid_after(now + dt.timedelta(days=days_left))
        .add_extension(x509.BasicConstraints(ca=not names, path_length=None), critical=True)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    if ocsp:
        access = x509.AccessDescription(AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp))
        builder = builder.add_extension(x509.AuthorityInformationAccess([access]), critical=False)
    cert = builder.sign(issuer_key, getattr(hashes, digest.upper())())
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return cert_pem, key_pem, (cert, private)


@functools.cache
def pki() -> dict[str, str]:
    """A private CA and a leaf it issued for app.example.test / www.example.test."""
    ca_pem, _unused, ca = make_cert(names=(), days_left=3000, lifetime=3650)
    leaf_pem, key_pem, _unused = make_cert(names=("app.example.test", "www.example.test"), issuer=ca)
    return {"ca": ca_pem, "leaf": leaf_pem, "key": key_pem}
