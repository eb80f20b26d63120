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
JOURNALD_CONFS = (
    "/etc/systemd/journald.conf",
    "/etc/systemd/journald.conf.d/*.conf",
    "/usr/lib/systemd/journald.conf.d/*.conf",
)
RSYSLOG_CONFS = ("/etc/rsyslog.conf", "/etc/rsyslog.d/*.conf")
SHIPPERS = (
    "systemd-journal-upload.service",
    "vector.service",
    "fluent-bit.service",
    "promtail.service",
    "filebeat.service",
    "alloy.service",
)
FORWARD_RULE = re.compile(r'(^\s*[^#\s].*\s@@?[\w.\[\]:-]+|type\s*=\s*"omfwd")', re.M)
UPLOAD_CONFS = (
    "/etc/systemd/journal-upload.conf",
    "/etc/systemd/journal-upload.conf.d/*.conf",
    "/run/systemd/journal-upload.conf.d/*.conf",
    "/usr/lib/systemd/journal-upload.conf.d/*.conf",
)
UPLOAD_KEY = re.compile(r"^\s*(URL|TrustedCertificateFile)\s*=\s*(\S*)", re.M)
# rsyslog TLS: RainerScript streamDriver="gtls"/"ossl" with mode 1, or the legacy $ActionSendStreamDriver* lines.
RSYSLOG_TLS_DRIVER = re.compile(
    r'(?i)(streamdriver\s*=\s*"(gtls|ossl)"|\$DefaultNetstreamDriver\s+(gtls|ossl)|'
    r'defaultnetstreamdriver\s*=\s*"(gtls|ossl)")'
)
RSYSLOG_TLS_MODE = re.compile(r'(?i)(streamdrivermode\s*=\s*"1"|\$ActionSendStreamDriverMode\s+1)')


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
    """Inspects: access_log per server, error_log levels, /etc/logrotate.d/nginx, stat() of /var/log/nginx/*.log.

    pass: logging on, not debug, rotated, files ≤ 0640; fail otherwise.
    """
    info = nginx(facts)
    if info is None:
        return not_applicable("nginx is not installed")
    problems, seen = [], []
    for server in info.config.servers():
        access = server.nearest("access_log")
        if access and all(d.args[:1] == ("off",) for d in access):
            problems.append(f"{server.label()}: access_log off ({access[0].where})")
    problems += [
        d.evidence() + ": debug level" for d in info.config.walk() if d.name == "error_log" and "debug" in d.args[1:]
    ]
    if facts.stat(LOGROTATE_NGINX) is None:
        problems.append(f"{LOGROTATE_NGINX} missing: logs are not rotated")
    else:
        seen.append(f"{LOGROTATE_NGINX} present")
    loose, files = mode_findings(facts, facts.glob("/var/log/nginx/*.log"), 0o640)
    return judge("nginx logs enabled, not debug, rotated and private", problems + loose, seen=seen + files)


def _journald_persistent(facts: Facts) -> tuple[bool, str]:
    storage = "auto"
    for path in glob_all(facts, JOURNALD_CONFS):
        for match in re.finditer(r"^\s*Storage\s*=\s*(\S+)", facts.read_text(path) or "", re.M):
            storage = match.group(1).lower()
    journal_dir = facts.stat("/var/log/journal")
    persistent = storage == "persistent" or (storage == "auto" and journal_dir is not None)
    return persistent, f"journald Storage={storage}, /var/log/journal {'exists' if journal_dir else 'absent'}"


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
    """Inspects: auditd.service with non-empty /etc/audit/rules.d/*.rules, else journald Storage and
    /var/log/journal.

    pass: auditd rules or a persistent journal; fail otherwise.
    """
    rules = [p for p in facts.glob("/etc/audit/rules.d/*.rules") if (facts.read_text(p) or "").strip()]
    if active(facts, "auditd.service") and rules:
        return judge("auditd active with rules", [], seen=rules)
    persistent, note = _journald_persistent(facts)
    if persistent:
        return judge("journald keeps a persistent log", [], seen=[note])
    return judge("", ["no auditd rules and journald is volatile"], seen=[note])


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
        paths = glob_all(facts, RSYSLOG_CONFS)
        texts = {p: facts.read_text(p) or "" for p in paths}
        forwarding = [p for p, text in texts.items() if FORWARD_RULE.search(text)]
        if forwarding:
            joined = "\n".join(texts.values())
            tls = RSYSLOG_TLS_DRIVER.search(joined) and RSYSLOG_TLS_MODE.search(joined)
            minor = [] if tls else ["rsyslog forwards logs in clear text (no gtls/ossl stream driver in mode 1)"]
            return judge("rsyslog forwards logs over TLS", [], minor, forwarding)
    baseline = intent(facts, "baseline")
    declared = str(baseline.get("log_host") or "")
    problem = f"the declared log host {declared} receives nothing" if declared else "no log shipping configured"
    result = judge("", [f"{problem}: no active journal-upload, agent or rsyslog forwarding rule"])
    # Only "no log host at all" can be accepted (rampart_baseline_accepted_exceptions); a declared
    # log host that receives nothing is broken shipping, and stays a failure.
    return result if declared else accept_declared(baseline, "LOG-03", result)


def _upload_findings(facts: Facts) -> tuple[list[str], list[str]]:
    settings: dict[str, str] = {}
    for path in glob_all(facts, UPLOAD_CONFS):
        for key, val in UPLOAD_KEY.findall(facts.read_text(path) or ""):
            settings[key] = val
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
