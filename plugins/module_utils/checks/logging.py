"""Logging and audit trail pack (LOG-01..03)."""

from __future__ import annotations

import re

from ansible_collections.rampart.hardening.plugins.module_utils.checks.common import judge
from ansible_collections.rampart.hardening.plugins.module_utils.exposure import accept_declared
from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts
from ansible_collections.rampart.hardening.plugins.module_utils.model import Result, not_applicable
from ansible_collections.rampart.hardening.plugins.module_utils.probes import intent
from ansible_collections.rampart.hardening.plugins.module_utils.probes.files import glob_all, mode_findings
from ansible_collections.rampart.hardening.plugins.module_utils.probes.nginx import nginx
from ansible_collections.rampart.hardening.plugins.module_utils.probes.systemd import active
from ansible_collections.rampart.hardening.plugins.module_utils.registry import check

CIS = "CIS Debian Linux 12 Benchmark"
NGINX_LOG = "https://nginx.org/en/docs/http/ngx_http_log_module.html"
LOGROTATE_NGINX = "/etc/logrotate.d/nginx"
DISCARD = "/dev/null"  # access_log /dev/null is access_log off by another name
# systemd's configuration directories, highest precedence first: a drop-in name in /etc masks the
# same name in /run and /usr (journald.conf(5), "CONFIGURATION DIRECTORIES AND PRECEDENCE").
SYSTEMD_CONF_DIRS = ("/etc/systemd", "/run/systemd", "/usr/local/lib/systemd", "/usr/lib/systemd")
JOURNALD_STORAGE = ("volatile", "persistent", "auto", "none")
RSYSLOG_CONFS = ("/etc/rsyslog.conf", "/etc/rsyslog.d/*.conf")
SHIPPERS = (
    "systemd-journal-upload.service",
    "vector.service",
    "fluent-bit.service",
    "promtail.service",
    "filebeat.service",
    "alloy.service",
)
# rsyslog legacy forwarding action: "<selector or filter> @host" (UDP) or "@@host" (TCP), "@(z9)host",
# "@[::1]:514"; not a $Directive line and not inside an object's parentheses (a template string).
LEGACY_FORWARD = re.compile(
    r"^[ \t]*[^\s$(][^\n@(]*?\s(?P<tcp>@?)@(?:\([^)]*\))?(?P<target>\[[^\]]+\][^\s;]*|[\w.:-]+)", re.M
)
# RainerScript action(...) and global(...) objects, and their name="value" parameters.
RSYSLOG_OBJECT = re.compile(r"\b(?P<kind>action|global)\s*\((?P<body>[^)]*)\)", re.I)
RSYSLOG_PARAM = re.compile(r'(?P<name>[\w.]+)\s*=\s*(?:"(?P<quoted>[^"]*)"|(?P<bare>[^\s)"]+))')
RSYSLOG_TLS_DRIVERS = ("gtls", "ossl", "mbedtls")
LEGACY_DRIVER = re.compile(r"^\s*\$DefaultNetstreamDriver\s+(\S+)", re.I | re.M)
LEGACY_MODE = re.compile(r"^\s*\$ActionSendStreamDriverMode\s+(\S+)", re.I | re.M)


@check(
    id="LOG-01",
    title="nginx access and error logs enabled, not debug, rotated, ≤ 0640",
    category="logging",
    severity="medium",
    rationale="Access and error logs are the evidence of attacks; debug logs leak request data; unrotated "
    "logs fill the disk; readable logs leak tokens in URLs.",
    remediation="Keep access_log/error_log on (level warn or error), keep /etc/logrotate.d/nginx, and let "
    "logrotate create files 0640 www-data:adm.",
    references=(NGINX_LOG, "CIS NGINX Benchmark 2.1.0 3.x"),
    fix_role="nginx",
    fix_tag="nginx",
)
def log_nginx(facts: Facts) -> Result:
    """Inspects: access_log per server (off or /dev/null), error_log levels and targets, /etc/logrotate.d/nginx,
    stat() of /var/log/nginx/*.log and of every file an access_log/error_log names.

    pass: logging on, not debug, rotated, files ≤ 0640; fail otherwise.
    """
    info = nginx(facts)
    if info is None:
        return not_applicable("nginx is not installed")
    problems, seen = [], []
    for server in info.config.servers():
        access = server.nearest("access_log")
        if access and all(d.args[:1] in (("off",), (DISCARD,)) for d in access):
            problems.append(f"{server.label()}: access_log {access[0].args[0]} ({access[0].where})")
    logs = [d for d in info.config.walk() if d.name in ("access_log", "error_log") and d.args]
    problems += [d.evidence() + ": debug level" for d in logs if d.name == "error_log" and "debug" in d.args[1:]]
    problems += [
        d.evidence() + ": errors are discarded" for d in logs if d.name == "error_log" and d.args[0] == DISCARD
    ]
    if facts.stat(LOGROTATE_NGINX) is None:
        problems.append(f"{LOGROTATE_NGINX} missing: logs are not rotated")
    else:
        seen.append(f"{LOGROTATE_NGINX} present")
    # The files the configuration writes, wherever they are, and whatever else sits in /var/log/nginx.
    paths = [*facts.glob("/var/log/nginx/*.log"), *(p for d in logs if (p := _log_file(d.args[0])))]
    loose, files = mode_findings(facts, paths, 0o640)
    return judge("nginx logs enabled, not debug, rotated and private", problems + loose, seen=seen + files)


def _log_file(target: str) -> str | None:
    """The file an access_log/error_log writes, or None (off, syslog:, stderr, /dev/null, a $variable path)."""
    if not target.startswith("/") or "$" in target or target.startswith("/dev/"):
        return None
    return target


def systemd_conf_files(facts: Facts, name: str) -> list[str]:
    """The files systemd reads for ``name`` (journald.conf, journal-upload.conf) in the order it
    applies them: the main file, then the ``name.d/*.conf`` drop-ins of /etc, /run, /usr/local/lib
    and /usr/lib sorted by file name whatever their directory (the last one wins), a name in a
    higher directory masking the same name in lower ones."""
    main = next((f"{d}/{name}" for d in SYSTEMD_CONF_DIRS if facts.stat(f"{d}/{name}") is not None), None)
    dropins: dict[str, str] = {}
    for directory in SYSTEMD_CONF_DIRS:
        for path in facts.glob(f"{directory}/{name}.d/*.conf"):
            dropins.setdefault(path.rsplit("/", 1)[-1], path)
    return ([main] if main else []) + [dropins[n] for n in sorted(dropins)]


def systemd_assignments(facts: Facts, name: str, section: str, key: str) -> list[tuple[str, str]]:
    """(file, value) of every ``key=`` in ``[section]`` of the files systemd reads for ``name``, in
    the order it applies them (so the last valid one is the effective value)."""
    found: list[tuple[str, str]] = []
    for path in systemd_conf_files(facts, name):
        current = None
        for raw in (facts.read_text(path) or "").splitlines():
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                current = line[1:-1].strip()
                continue
            left, sep, value = line.partition("=")
            if sep and current == section and left.strip() == key:
                found.append((path, value.strip()))
    return found


def _journald_persistent(facts: Facts) -> tuple[bool, str]:
    storage, origin = "auto", "default"
    for path, value in systemd_assignments(facts, "journald.conf", "Journal", "Storage"):
        if value in JOURNALD_STORAGE:  # journald ignores a value it does not know ("Persistent")
            storage, origin = value, path
    journal_dir = facts.stat("/var/log/journal")
    persistent = storage == "persistent" or (storage == "auto" and journal_dir is not None)
    where = "/var/log/journal " + ("exists" if journal_dir else "absent")
    return persistent, f"journald Storage={storage} ({origin}), {where}"


def audit_rules(texts: list[str]) -> tuple[list[str], str | None]:
    """(the watch/syscall rules, the last ``-e`` flag) of auditd rule files, as augenrules joins them.

    Control lines (-D, -b, -f, --backlog_wait_time) record nothing: the rules file the auditd
    package installs has only those, and 'auditctl -l' then says "No rules". ``-a never,...``
    suppresses events; ``-e 0`` switches auditing off.
    """
    rules: list[str] = []
    enabled = None
    for text in texts:
        for raw in text.splitlines():
            words = raw.split("#", 1)[0].split()
            if not words:
                continue
            if words[0] == "-w" or (words[0] in ("-a", "-A") and len(words) > 1 and "never" not in words[1]):
                rules.append(" ".join(words))
            elif words[0] == "-e" and len(words) > 1:
                enabled = words[1]
    return rules, enabled


@check(
    id="LOG-02",
    title="Audit trail for security-relevant changes (auditd rules or persistent journal)",
    category="logging",
    severity="medium",
    rationale="Without a persistent audit trail, changes to accounts, sudoers and configs cannot be "
    "reconstructed after an incident or a reboot.",
    remediation="Install auditd with rules for identity, sudoers and config changes, or at least set "
    "Storage=persistent in journald.conf.",
    references=(f"{CIS} 6.2.x", f"{CIS} 6.1.x"),
)
def log_audit_trail(facts: Facts) -> Result:
    """Inspects: auditd.service with at least one -w/-a rule in /etc/audit/rules.d/*.rules (and no
    '-e 0'), else journald Storage (journald.conf and its drop-ins, in systemd's order) and /var/log/journal.

    pass: auditd rules or a persistent journal; fail otherwise.
    """
    notes = []
    if active(facts, "auditd.service"):
        paths = facts.glob("/etc/audit/rules.d/*.rules")
        rules, enabled = audit_rules([facts.read_text(p) or "" for p in paths])
        if rules and enabled != "0":
            return judge("auditd active with rules", [], seen=[*paths, *rules])
        notes.append(
            "auditd active but '-e 0' switches auditing off"
            if rules
            else f"auditd active without a single -w/-a rule in {', '.join(paths) or '/etc/audit/rules.d'}"
        )
    persistent, note = _journald_persistent(facts)
    if persistent:
        return judge("journald keeps a persistent log", [], seen=[note, *notes])
    return judge("", ["no auditd rules and journald is volatile"], seen=[note, *notes])


@check(
    id="LOG-03",
    title="Remote log shipping configured",
    category="logging",
    severity="low",
    rationale="Logs kept only on the host can be wiped by whoever compromises it.",
    remediation="Ship over TLS: systemd-journal-upload with an https URL and TrustedCertificateFile (the "
    "rampart baseline role, rampart_baseline_log_host), rsyslog '*.* @@loghost:6514' with the gtls stream driver "
    "in mode 1, or an agent (vector, fluent-bit, promtail).",
    references=(f"{CIS} 6.1.x", "https://www.freedesktop.org/software/systemd/man/latest/journal-upload.conf.html"),
    fix_role="baseline",
    fix_tag="baseline_logging",
)
def log_shipping(facts: Facts) -> Result:
    """Inspects: systemd-journal-upload (active, and URL/TrustedCertificateFile in journal-upload.conf and its
    drop-ins), rsyslog forwarding rules and their stream driver, other agents (vector, fluent-bit, promtail,
    filebeat, alloy); the baseline intent's declared log host.

    pass: journal-upload over verified https, rsyslog forwarding over TLS, or an agent active; partial: shipped
    without TLS, without verifying the log host, or to a URL not in the config files; fail: nothing ships;
    not_applicable (accepted exception, never a pass): nothing ships, no log host is declared and the baseline
    intent accepts LOG-03 with a reason.
    """
    if active(facts, "systemd-journal-upload.service"):
        minor, seen = _upload_findings(facts)
        return judge("journal shipped over verified TLS", [], minor, seen)
    agents = [u for u in SHIPPERS if active(facts, u)]
    if agents:
        return judge("logs shipped off-host by an agent", [], seen=[*agents, "agent transport not assessed"])
    if active(facts, "rsyslog.service"):
        texts = {p: rsyslog_uncommented(facts.read_text(p) or "") for p in glob_all(facts, RSYSLOG_CONFS)}
        forwards = rsyslog_forwards(texts)
        if forwards:
            clear = [f"{where}: {what}" for where, what, tls in forwards if not tls]
            minor = [f"rsyslog forwards logs in clear text: {c}" for c in clear]
            return judge("rsyslog forwards logs over TLS", [], minor, [f"{w}: {what}" for w, what, _t in forwards])
    baseline = intent(facts, "baseline")
    declared = str(baseline.get("log_host") or "")
    problem = f"the declared log host {declared} receives nothing" if declared else "no log shipping configured"
    result = judge("", [f"{problem}: no active journal-upload, agent or rsyslog forwarding rule"])
    # Only "no log host at all" can be accepted (rampart_baseline_accepted_exceptions); a declared
    # log host that receives nothing is broken shipping, and stays a failure.
    return result if declared else accept_declared(baseline, "LOG-03", result)


def _upload_findings(facts: Facts) -> tuple[list[str], list[str]]:
    settings = {
        key: values[-1][1]
        for key in ("URL", "TrustedCertificateFile")
        if (values := systemd_assignments(facts, "journal-upload.conf", "Upload", key))
    }
    url = settings.get("URL", "")
    trust = settings.get("TrustedCertificateFile", "")
    seen = [f"systemd-journal-upload active, URL={url or '-'}, TrustedCertificateFile={trust or '(default)'}"]
    if not url:
        return ["systemd-journal-upload has no URL in its configuration files"], seen
    if url.lower().startswith("http://"):
        return [f"journal shipped without TLS ({url})"], seen
    if trust.lower() == "all":
        return ["journal-upload does not verify the log host (TrustedCertificateFile=all)"], seen
    return [], seen


def rsyslog_uncommented(text: str) -> str:
    """rsyslog config without its comments: ``#`` to the end of the line and ``/* ... */`` blocks,
    outside double-quoted strings (a commented-out sample forwarding rule forwards nothing)."""
    out: list[str] = []
    quoted = False
    i = 0
    while i < len(text):
        char = text[i]
        if quoted:
            out.append(char)
            quoted = char != '"' or text[i - 1] == "\\"
        elif char == '"':
            quoted = True
            out.append(char)
        elif char == "#":
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = len(text) if end < 0 else end + 2
            continue
        else:
            out.append(char)
        i += 1
    return "".join(out)


def _params(body: str) -> dict[str, str]:
    """name="value" parameters of one RainerScript object (names are case-insensitive)."""
    params = RSYSLOG_PARAM.finditer(body)
    return {m["name"].lower(): (m["quoted"] if m["quoted"] is not None else m["bare"]) for m in params}


def rsyslog_forwards(texts: dict[str, str]) -> list[tuple[str, str, bool]]:
    """(file, forwarding action, over TLS?) of uncommented rsyslog configs.

    TLS needs TCP (a single ``@`` and omfwd's default ``protocol="udp"`` are UDP), a gtls/ossl/mbedtls
    stream driver (the action's StreamDriver, else the default netstream driver) and driver mode 1.
    """
    joined = "\n".join(texts.values())
    globals_ = [_params(m["body"]) for m in RSYSLOG_OBJECT.finditer(joined) if m["kind"].lower() == "global"]
    default_driver = next(
        (g["defaultnetstreamdriver"] for g in reversed(globals_) if "defaultnetstreamdriver" in g),
        (LEGACY_DRIVER.findall(joined) or ["ptcp"])[-1],
    ).lower()
    legacy_mode = (LEGACY_MODE.findall(joined) or ["0"])[-1]
    found: list[tuple[str, str, bool]] = []
    for path, text in texts.items():
        for m in LEGACY_FORWARD.finditer(text):
            tls = bool(m["tcp"]) and default_driver in RSYSLOG_TLS_DRIVERS and legacy_mode == "1"
            found.append((path, m.group(0).strip(), tls))
        for m in RSYSLOG_OBJECT.finditer(text):
            params = _params(m["body"])
            if m["kind"].lower() != "action" or params.get("type", "").lower() not in ("omfwd", "omrelp"):
                continue
            what = f"action(type={params['type']} target={params.get('target', '?')})"
            if params["type"].lower() == "omrelp":
                found.append((path, what, params.get("tls", "off").lower() == "on"))
                continue
            driver = (params.get("streamdriver") or params.get("streamdriver.name") or default_driver).lower()
            mode = params.get("streamdrivermode") or params.get("streamdriver.mode") or legacy_mode
            tcp = params.get("protocol", "udp").lower() == "tcp"
            found.append((path, what, tcp and driver in RSYSLOG_TLS_DRIVERS and mode == "1"))
    return found
