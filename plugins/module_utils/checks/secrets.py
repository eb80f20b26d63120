"""Secrets pack (SEC-01..05): secret files, credentials in configs/units/argv, accounts.

Values that look like credentials are never copied into evidence: only the file, line and
key name are reported.
"""

from __future__ import annotations

import re

from ansible_collections.rampart.hardening.plugins.module_utils import secrets_scan
from ansible_collections.rampart.hardening.plugins.module_utils.checks.common import judge
from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts
from ansible_collections.rampart.hardening.plugins.module_utils.model import Result, error, not_applicable
from ansible_collections.rampart.hardening.plugins.module_utils.probes.credentials import (
    ACCEPTED,
    UNKNOWN,
    default_logins,
    summarize,
)
from ansible_collections.rampart.hardening.plugins.module_utils.probes.files import describe, glob_all, mode_findings
from ansible_collections.rampart.hardening.plugins.module_utils.probes.nginx import nginx
from ansible_collections.rampart.hardening.plugins.module_utils.probes.redis import redis
from ansible_collections.rampart.hardening.plugins.module_utils.probes.systemd import processes
from ansible_collections.rampart.hardening.plugins.module_utils.probes.users import accounts, shadow
from ansible_collections.rampart.hardening.plugins.module_utils.registry import check

SECRET_FILE_GLOBS = (
    "/root/.pgpass",
    "/home/*/.pgpass",
    "/var/lib/postgresql/.pgpass",
    "/root/.my.cnf",
    "/etc/mysql/debian.cnf",
    "/var/lib/rabbitmq/.erlang.cookie",
    "/etc/rampart/intent/*.json",
    "/etc/rampart/credentials/*",
    "/etc/redis/*.acl",
    "/etc/ssl/private/*",
    "/etc/letsencrypt/archive/*/privkey*.pem",
    "/srv/*/.env",
    "/opt/*/.env",
    "/var/www/*/.env",
    "/home/*/*/.env",
    "/etc/default/*.env",
    # SSH private keys: a readable host key lets anyone impersonate the server, a readable user
    # key is that user's logins elsewhere (OpenSSH itself only refuses to use a loose user key).
    "/etc/ssh/ssh_host_*_key",
    "/root/.ssh/id_*",
    "/home/*/.ssh/id_*",
)
PUBLIC_SUFFIXES = (".pub",)  # id_ed25519.pub, id_ed25519-cert.pub: public halves
CONFIG_SCAN_GLOBS = (
    "/etc/systemd/system/*.service",
    "/etc/systemd/system/*.service.d/*.conf",
    "/etc/nginx/conf.d/*.conf",
    "/etc/nginx/sites-enabled/*",
    "/etc/redis/*.conf",
    "/etc/postgresql/*/*/*.conf",
    "/etc/default/*",
    # Read by every login (pam_env, login shells) and by cron, 0644 by default: a credential
    # put there "for the nightly dump" is readable by every account.
    "/etc/environment",
    "/etc/profile.d/*.sh",
    "/etc/crontab",
    "/etc/cron.d/*",
)
# Application configuration where operators put database and API credentials: YAML/INI/properties/
# XML/PHP/TOML/JSON files one level under /etc/<app>/ (netplan's wifi passwords too), the top and the
# config/ or conf/ directory of /srv/<app>/ and /opt/<app>/, and PHP apps' config files under
# /var/www. One level deep and by extension, so the scan stays bounded on a real host.
APP_CONFIG_EXTENSIONS = ("yml", "yaml", "ini", "properties", "xml", "php", "toml", "json", "conf", "cfg")
APP_CONFIG_GLOBS = (
    *(f"/etc/*/*.{ext}" for ext in ("yml", "yaml", "properties", "toml")),
    *(
        f"{top}/*/{sub}*.{ext}"
        for top in ("/srv", "/opt")
        for sub in ("", "config/", "conf/", "etc/")
        for ext in APP_CONFIG_EXTENSIONS
    ),
    "/var/www/*/wp-config.php",
    "/var/www/*/config.php",
    "/var/www/*/config/*.php",
)
MAX_SCAN_BYTES = 1 << 20  # larger application files (data, bundles) are listed, not read
ENV_FILE_GLOBS = tuple(pattern for pattern in SECRET_FILE_GLOBS if pattern.endswith(".env"))
ENVIRONMENT_FILE = re.compile(r"^\s*EnvironmentFile\s*=\s*-?(?P<path>/\S+)", re.M)
KNOWN_DEFAULTS = frozenset(
    {"foobared", "password", "postgres", "guest", "admin", "admin123", "redis", "changeme", "secret"}
)
looks_secret = secrets_scan.looks_secret


def scan_text(text: str) -> list[tuple[int, str]]:
    """(line number, what) for every credential-carrying line (secrets_scan); values are never returned."""
    return [(hit.line, hit.what) for hit in secrets_scan.scan_text(text)]


def _secret_paths(facts: Facts) -> list[str]:
    paths = glob_all(facts, SECRET_FILE_GLOBS)
    info = nginx(facts)
    if info is not None:
        paths += [
            d.args[0]
            for d in info.config.walk()
            if d.name in ("auth_basic_user_file", "ssl_certificate_key") and d.args and "$" not in d.args[0]
        ]
    return [p for p in dict.fromkeys(paths) if not p.endswith(("/", *PUBLIC_SUFFIXES))]


@check(
    id="SEC-01",
    title="Secret-bearing files are 0640 or stricter",
    category="secrets",
    severity="high",
    rationale="Credential files readable by every local account turn any foothold into database or service compromise.",
    remediation="chmod 0600 (or 0640 with the service's group) .env, .pgpass, ACL, htpasswd, key and cookie "
    "files and chown them to the service that reads them.",
    references=("CIS Debian Linux 12 Benchmark 7.1.x", "OWASP Secrets Management Cheat Sheet"),
)
def sec_secret_files(facts: Facts) -> Result:
    """Inspects: stat() of known secret files (.pgpass, .env, ACL, intent, credentials, keys, htpasswd, Erlang
    cookie, SSH host and user private keys).

    pass: all ≤ 0640; fail otherwise; n/a: none found.
    """
    problems, seen = mode_findings(facts, _secret_paths(facts), 0o640)
    if not seen:
        return not_applicable("no known secret-bearing file on this host")
    return judge("secret files are private", problems, seen=seen)


def _environment_files(facts: Facts, unit_paths: list[str]) -> list[str]:
    """Files named by EnvironmentFile= in the unit files (their content ends up in the service's environment)."""
    found = []
    for path in unit_paths:
        found += [m.group("path") for m in ENVIRONMENT_FILE.finditer(facts.read_text(path) or "")]
    return found


def _scan_targets(facts: Facts) -> list[str]:
    configs = glob_all(facts, CONFIG_SCAN_GLOBS)
    units = [p for p in configs if p.startswith("/etc/systemd/")]
    paths = [
        *configs,
        *_environment_files(facts, units),
        *glob_all(facts, ENV_FILE_GLOBS),
        *glob_all(facts, APP_CONFIG_GLOBS),
    ]
    return [p for p in dict.fromkeys(paths) if (st := facts.stat(p)) is not None and not st.is_dir]


@check(
    id="SEC-02",
    title="No credentials in world-readable configs or systemd Environment= lines",
    category="secrets",
    severity="high",
    rationale="Unit files and world-readable configs are readable by every account ('systemctl show' prints "
    "Environment=), so secrets in them are public on the host.",
    remediation="Move secrets to files readable only by the service (EnvironmentFile= with 0600, "
    "LoadCredential=, or the service's own 0640 config) and rotate the exposed ones.",
    references=(
        "https://www.freedesktop.org/software/systemd/man/latest/systemd.exec.html#Credentials",
        "OWASP Secrets Management Cheat Sheet",
    ),
)
def sec_config_credentials(facts: Facts) -> Result:
    """Inspects: /etc/systemd/system unit files (always world-readable), and the world-readable ones of: files
    named by their EnvironmentFile=, .env files, nginx/redis/postgresql/default configs, /etc/environment,
    /etc/profile.d/*.sh, /etc/crontab, /etc/cron.d/*, application configs (/etc/<app>/*.yml|yaml|properties|toml,
    YAML/INI/properties/XML/PHP/TOML/JSON/conf files at the top and in config/, conf/, etc/ of /srv/<app> and
    /opt/<app>, /var/www/<site>/wp-config.php and config.php); with the credential
    recogniser (URLs with userinfo, DSN and key=value pairs, Authorization headers, *_TOKEN/*_SECRET/*_KEY,
    flags, Redis requirepass/ACL, YAML block scalars, XML elements and name/value attributes, PHP define() and
    $variables, token formats, private keys, also base64-wrapped; lines continued with a backslash are joined).
    Values are never reported; files over 1 MiB are named in the evidence, not read.

    pass: none found; fail otherwise; n/a: nothing world-readable to scan.
    """
    problems, seen, too_large = [], [], []
    for path in _scan_targets(facts):
        st = facts.stat(path)
        unit_file = path.startswith("/etc/systemd/")
        if st is None or not (unit_file or st.mode & 0o004):
            continue
        if st.size > MAX_SCAN_BYTES:
            too_large.append(path)
            continue
        text = facts.read_text(path) or ""
        seen.append(describe(st))
        for number, what in scan_text(text):
            problems.append(f"{path}:{number}: {what} in a world-readable file")
    # Files not read are named, never counted as clean.
    skipped = [f"not scanned (over {MAX_SCAN_BYTES} bytes): {path}" for path in too_large]
    if not seen and not too_large:
        return not_applicable("no world-readable config or unit file to scan")
    return judge("no credentials in world-readable configs", problems, seen=[f"{len(seen)} files scanned", *skipped])


@check(
    id="SEC-03",
    title="No credentials visible in process arguments",
    category="secrets",
    severity="medium",
    rationale="Any local user can read every process's command line from /proc.",
    remediation="Pass secrets via files, environment files with restricted modes or stdin (e.g. "
    "REDISCLI_AUTH, PGPASSFILE, --defaults-extra-file) instead of arguments.",
    references=("OWASP Secrets Management Cheat Sheet",),
)
def sec_process_args(facts: Facts) -> Result:
    """Inspects: Command lines of all processes (`ps`) with the credential recogniser: --password x/=x, -p'x',
    mysql -pX, redis-cli -a X, sshpass -p X, curl -u user:pw, URLs with userinfo, KEY=value pairs,
    Authorization headers.

    pass: none; fail otherwise.
    """
    running = processes(facts)
    if not running:
        return error("no process list (ps failed or is missing)")
    problems = []
    for process in running:
        what = secrets_scan.scan_line(process.args)
        if what is not None and not secrets_scan.is_comment(process.args):
            problems.append(f"pid {process.pid} ({process.command}): {what} on the command line")
    # A ps line that cannot be split into uid/pid/args is still text: scan it whole, so it hides nothing.
    unread = facts.unparsed("ps")
    for line in unread:
        what = secrets_scan.scan_line(line.text)
        if what is not None and not secrets_scan.is_comment(line.text):
            problems.append(f"ps line {line.number} (unparsed): {what} on the command line")
    seen = [f"{len(running)} processes scanned"]
    if unread:
        seen.append(f"{len(unread)} unparsed ps line(s) scanned as text")
    return judge("no credentials in process arguments", problems, seen=seen)


@check(
    id="SEC-04",
    title="No empty passwords; shadow 0640; only root has UID 0",
    category="secrets",
    severity="high",
    rationale="An empty password or a second UID 0 account is a direct path to root.",
    remediation="'passwd -l <user>' for empty passwords; chmod 0640 root:shadow /etc/shadow; remove or "
    "renumber extra UID 0 accounts.",
    references=("CIS Debian Linux 12 Benchmark 7.2.x",),
)
def sec_accounts(facts: Facts) -> Result:
    """Inspects: /etc/shadow empty password fields, UID 0 accounts in /etc/passwd, stat() of /etc/shadow.

    pass: none empty, only root UID 0, shadow ≤ 0640 root-owned; fail otherwise.
    """
    entries = shadow(facts)
    if entries is None:
        return error("/etc/shadow does not exist")
    problems = [f"account {user} has an empty password" for user, field in entries.items() if field == ""]
    problems += [f"account {a.name} has UID 0" for a in accounts(facts).values() if a.uid == 0 and a.name != "root"]
    st = facts.stat("/etc/shadow")
    seen = [describe(st)] if st else []
    if st is not None and (st.mode & 0o137 or st.uid != 0):
        problems.append(f"{describe(st)}: should be 0640 root:shadow or stricter")
    return judge("no empty passwords, shadow private, single UID 0", problems, seen=seen)


def _redis_defaults(facts: Facts) -> list[str]:
    info = redis(facts)
    if info is None:
        return []
    found = []
    for user in info.users:
        if user.enabled and user.nopass:
            found.append(f"redis user {user.name} accepts any password (nopass)")
        found += [
            f"redis user {user.name} has a well-known password" for p in user.plaintext_passwords if p in KNOWN_DEFAULTS
        ]
    return found


@check(
    id="SEC-05",
    title="No known default passwords accepted",
    category="secrets",
    severity="high",
    rationale="Default credentials (postgres/postgres, guest/guest, admin/admin123, redis default without "
    "password) are the first thing attackers try.",
    remediation="Set generated passwords (rampart roles generate them) and remove default accounts.",
    references=("OWASP Top 10 A07:2021", "CWE-1392"),
)
def sec_default_passwords(facts: Facts) -> Result:
    """Inspects: Config-visible defaults (Redis nopass/known passwords, RabbitMQ guest from the network) and
    one login attempt per well-known default pair ON the host: PostgreSQL login roles over TCP loopback and the
    unix socket (password auth), Redis users over loopback and the unix socket, RabbitMQ guest (management API,
    else AMQP handshake).

    pass: nothing visible and every attempt refused; fail: a default visible or accepted; error: a present
    service answered no attempt conclusively and nothing else failed.
    """
    problems = _redis_defaults(facts)
    conf = facts.read_text("/etc/rabbitmq/rabbitmq.conf") or ""
    if re.search(r"^\s*loopback_users(\.guest)?\s*=\s*(false|none)", conf, re.M):
        problems.append("RabbitMQ guest/guest allowed from the network")
    if not facts.try_default_logins:
        seen = ["login attempts skipped by configuration (rampart_audit_agent_try_default_credentials: false)"]
        if problems:
            return judge("", problems, seen=seen)
        return not_applicable("default logins not tried: skipped by configuration", seen)
    attempts = default_logins(facts)
    if attempts is None:
        seen = ["login attempts skipped: auditing a file tree, not a live host"]
        return judge("no default credentials visible in configuration", problems, seen=seen)
    problems += [f"default credentials accepted: {a.text()}" for a in attempts if a.outcome == ACCEPTED]
    seen = summarize(attempts) or ["no PostgreSQL, Redis or RabbitMQ on this host to try defaults against"]
    unjudged = sorted({a.service for a in attempts} - {a.service for a in attempts if a.outcome != UNKNOWN})
    if unjudged and not problems:
        detail = [a.text() for a in attempts if a.service in unjudged][:5]
        return error(f"default logins could not be judged for {', '.join(unjudged)}", [*detail, *seen])
    return judge("no default credentials accepted on the host or visible in configuration", problems, seen=seen)
