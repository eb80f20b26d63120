"""Recognise credentials in text lines (configs, unit files, .env files, process arguments).

Built from, and tested against, a corpus of real-world spellings
(tests/unit/fixtures/secrets/corpus-*.txt): connection URLs with userinfo, DSN and
``key=value`` / ``key: value`` / JSON pairs whose key names a credential (``*_PASSWORD``,
``*_TOKEN``, ``*_SECRET``, ``*_KEY``, camelCase too), ``Authorization`` headers, command
line flags (``--password x``, ``--password=x``, ``-p'x'``, ``mysql -pX``, ``redis-cli -a X``,
``curl -u user:pw``), Redis ``requirepass``/``masterauth`` and ACL ``>password`` rules,
provider token formats and private key blocks.

Never matched: variables and templates (``${DB_PASSWORD}``, ``$TOKEN``, ``{{ vault_x }}``,
``%(pw)s``), references (``!vault``, ``vault:...``, paths), empty values, booleans, settings
that merely mention a credential (``PasswordAuthentication yes``, ``password_file=``,
``password_encryption``), and, in comments, documentation placeholders (``changeme``,
``<password>``, ``xxx``, ``foobared``). A commented-out value that looks like real key
material still matches: the file is as readable as the live lines.

Hits carry the line number and what was recognised, never the value.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections import Counter
from dataclasses import dataclass
from itertools import islice

COMMENT_PREFIXES = ("#", ";", "//", "--", "*", "!")
# Last word of a key name that makes its value a credential.
CREDENTIAL_WORDS = frozenset(
    {
        "password",
        "passwd",
        "passphrase",
        "pwd",
        "pass",
        "secret",
        "token",
        "credential",
        "credentials",
        "apikey",
        "requirepass",
        "masterauth",
        "pgpassword",
        "secretkey",
        "accesskey",
        "privatekey",
    }
)
# A one-word key name (DBPASSWORD, APPSECRET, SLACKTOKEN) ending in one of these names a credential.
# "pass" and "key" are left out: bypass, compass, hotkey.
CREDENTIAL_SUFFIXES = ("password", "passwd", "passphrase", "secret", "token")
# "<word>_key" names that are credentials whatever the value looks like.
SECRET_KEY_PREFIXES = frozenset({"api", "secret", "access", "private", "signing", "encryption", "master", "auth"})
# Keys that carry a credential without saying so.
CREDENTIAL_KEYS = frozenset({"rediscli_auth", "mysql_pwd", "secret_key_base"})
# Last words that are credentials only after another word (ldap_bind_pw, but not a lone "pw").
CREDENTIAL_TAILS = frozenset({"pw"})
# Whole values that only ever stand for "fill this in" or "no value".
NON_VALUES = frozenset(
    {"none", "null", "nil", "~", "true", "false", "yes", "no", "on", "off", "required", "optional", "undefined"}
)
# Documentation placeholders: not credentials when they appear in a comment.
COMMENT_PLACEHOLDERS = frozenset(
    {
        "changeme",
        "change_me",
        "change-me",
        "foobared",
        "password",
        "secret",
        "example",
        "test",
        "admin",
        "your_password",
        "yourpassword",
        "mypassword",
        "my_password",
        "123456",
        "s3cr3t",
        "token",
    }
)
# Wrapped in a lookahead so pairs nested in a quoted value (DSNs, Environment="K=V") are found too.
# PHP variables (``$db_pass = 'x';``) and array keys (``'password' => 'x'``) are pairs too; a bare
# value may start with "&" (a literal, or a YAML anchor judged by is_reference) but ends at one
# (``?user=a&password=b``).
KEY_VALUE = re.compile(
    r"(?=(?<![\w.])(?P<key>[A-Za-z_][\w.-]*)[\"']?\s*(?P<sep>=>|=|:)\s*"
    r"(?:(?P<quote>[\"'])(?P<quoted>[^\"']*)(?P=quote)|(?P<bare>&?[^\s\"',;&]+)))"
)
# XML: ``<password>x</password>``, ``<db.Password attr="1">x</db.Password>``.
XML_ELEMENT = re.compile(r"<(?P<key>[A-Za-z_][\w.:-]*)(?:\s[^<>]*)?>(?P<value>[^<]+)</(?P=key)\s*>")
# XML name/value attribute pairs: Spring ``<property name="...password" value="x"/>``, .NET
# ``<add key="DbPassword" value="x"/>``.
XML_NAME_VALUE = re.compile(
    r"\b(?:name|key)\s*=\s*[\"'](?P<key>[^\"']+)[\"']\s+value\s*=\s*[\"'](?P<value>[^\"']*)[\"']", re.I
)
# PHP ``define('DB_PASSWORD', 'x');``
PHP_DEFINE = re.compile(
    r"\bdefine\s*\(\s*[\"'](?P<key>\w+)[\"']\s*,\s*(?P<quote>[\"'])(?P<value>[^\"']*)(?P=quote)", re.I
)
# YAML block scalar header: ``password: |``, ``password: >-``, ``password: |2+`` (value on the next lines).
YAML_BLOCK = re.compile(
    r"^(?P<key>[\"']?[A-Za-z_][\w.-]*[\"']?)\s*:\s*(?P<props>(?:[!&]\S*\s+)*)[|>][-+0-9]*\s*(?:#.*)?$"
)
# Placeholder syntaxes that stand for a value filled in elsewhere.
PLACEHOLDER = re.compile(
    r"\$(?:\{|\(|[A-Za-z_])"  # $VAR, ${VAR}, $(cmd)
    r"|%\([\w.-]+\)[a-z]|%\{[\w.:-]+\}|%[A-Za-z_]\w*%|%[sd]$"  # %(name)s, %{name}, %NAME%, %s
    r"|@@?[A-Za-z_][\w.-]*@@?$"  # @NAME@ (autoconf), @@NAME@@
    r"|#\{"  # #{name} (Ruby, Octopus)
    r"|(?:process\.env|import\.meta\.env|os\.environ|ENV)\b"  # code reading the environment
    r"|[A-Za-z_][\w.:>-]*\s*[(\[]"  # code: getenv('X'), env('X'), config['db'], Foo::bar()
)
# A path (two components at least: /run/secrets/db, /etc/app/pw): one leading "/" alone is no path.
PATH_VALUE = re.compile(r"^(?:/|\./|~/|\.\./|@/)[\w.+-]+(?:/[\w.+-]*)+$|^(?:\./|~/|\.\./)[\w.+-]+$")
# YAML node syntax in a ``key: value`` value: tags (!vault, !ENV, !secret), aliases (*pw), anchors
# and block scalar headers (``|``, ``>-``, ``|2+``; the value is on the next lines, see _block_scalars).
YAML_NODE_REFERENCE = re.compile(r"^(?:![\w!:/.-]*|\*[\w.-]+|&[\w.-]+|[|>][-+0-9]*)$")
SPACE_DIRECTIVE = re.compile(r"^(?P<key>requirepass|masterauth)\s+(?P<value>\S+)", re.I)
REDIS_ACL_PASSWORD = re.compile(r"^user\s+\S+\s.*?(?:^|\s)>(?P<value>\S+)", re.I)
# The password runs to the LAST "@" of the authority (as urllib and WHATWG URL parse it), so an
# unencoded "@" in it (postgres://app:p@ss@db) does not cut the value short.
URL_USERINFO = re.compile(r"\b[a-z][a-z0-9+.-]*://(?P<user>[^\s:/@?#\"']*):(?P<value>[^\s/?\"']*)@", re.I)
AUTH_HEADER = re.compile(
    r"authorization[\"']?\s*[:=]?\s*[\"']?\s*(?P<scheme>bearer|basic|token|digest)\s+(?P<value>[^\s\"';,]+)", re.I
)
LONG_FLAG = re.compile(r"(?:^|\s)--(?P<key>[a-z][\w-]*)(?:=|\s+)(?P<value>'[^']*'|\"[^\"]*\"|[^\s'\"]+)", re.I)
P_QUOTED = re.compile(r"(?:^|\s)-p(?P<quote>[\"'])(?P<value>[^\"']*)(?P=quote)")
P_ATTACHED = re.compile(r"(?:^|\s)-p(?P<value>[^\s\"']+)")
REDIS_CLI_A = re.compile(r"(?:^|\s)-a\s+(?P<value>\S+)")
CURL_USER = re.compile(r"(?:^|\s)(?:-u|--user)\s+(?P<user>[^\s:]+):(?P<value>\S+)")
MYSQL_TOOLS = re.compile(r"\b(mysql|mariadb|mysqldump|mysqladmin|mariadb-dump)\b")
TOKEN_FORMATS = (
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "AWS access key id"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b|\bgithub_pat_[A-Za-z0-9_]{40,}\b"), "GitHub token"),
    (re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}\b"), "GitLab token"),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"), "Slack token"),
    (re.compile(r"\b[sr]k_live_[A-Za-z0-9]{16,}\b"), "Stripe secret key"),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), "Google API key"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "private key block"),
    (re.compile(r"-----BEGIN PGP PRIVATE KEY BLOCK-----"), "private key block"),
    (re.compile(r"^PuTTY-User-Key-File-\d+:"), "PuTTY private key file"),
)
# "-----BEGIN" base64-encoded (at the start of the encoded text): a wrapped PEM block.
BASE64_PEM = re.compile(r"LS0tLS1CRUdJT[A-Za-z0-9+/]{8,}={0,2}")
SSHPASS_P = re.compile(r"\bsshpass\b.*?(?:^|\s)-p\s*(?P<value>[^\s\"']+)")
KEY_MATERIAL = re.compile(r"^[A-Za-z0-9+/=_.~-]{16,}$")
# Five crontab time fields (minute hour day month weekday) starting with "*": a live line.
CRON_SCHEDULE = re.compile(r"^\*(?:/\d+)?(?:\s+[\w*/,-]+){4}\s+\S")
CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
MIN_ENTROPY_BITS = 2.5


@dataclass(frozen=True)
class Hit:
    """One recognised credential: where and what, never the value."""

    line: int
    what: str


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    if not value:
        return 0.0
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def is_reference(value: str, separator: str = "=") -> bool:
    """A variable, template, reference or path rather than a literal credential.

    Judged by the value's syntax, not by its first character: ``/x9Kq...`` or ``@x9Kq...`` is a
    password, ``/run/secrets/db``, ``${DB_PASSWORD}``, ``%(pw)s``, ``@@DB_PASSWORD@@`` are not.
    After a YAML ``:`` a tag (``!vault``), an alias (``*db_password``) or an anchor is node syntax.
    """
    text = value.strip()
    lowered = text.lower()
    return (
        not text
        or bool(PLACEHOLDER.match(text))
        or bool(PATH_VALUE.match(text))
        or (separator == ":" and bool(YAML_NODE_REFERENCE.match(text)))
        or any(marker in text for marker in ("${", "{{", "}}", "%(", "<%", "$("))
        or lowered.startswith(("vault:", "file:", "env:", "secret:", "enc[", "ref+", "arn:aws:secretsmanager"))
        or bool(re.fullmatch(r"<[^>]*>|x{3,}|\*{3,}|\.{3,}|#+", lowered))
        or lowered in NON_VALUES
    )


def looks_random(value: str) -> bool:
    """Key material rather than a word: long enough, letters and digits, high entropy."""
    return (
        len(value) >= 8
        and entropy(value) >= MIN_ENTROPY_BITS
        and any(c.isdigit() for c in value)
        and any(c.isalpha() for c in value)
    )


def looks_secret(value: str) -> bool:
    """A value that is neither a reference nor a placeholder nor low-entropy noise."""
    return (
        len(value) >= 6
        and not is_reference(value)
        and value.lower() not in COMMENT_PLACEHOLDERS
        and entropy(value) >= MIN_ENTROPY_BITS
    )


def key_words(key: str) -> list[str]:
    """``DB_PASSWORD`` / ``keyStorePassword`` / ``api-key`` -> lower-case words."""
    spaced = CAMEL.sub("_", key)
    return [word for word in re.split(r"[_.\-]+", spaced.lower()) if word]


def key_kind(key: str) -> str | None:
    """``credential`` when the key names one, ``key`` for a generic ``*_KEY``, else None."""
    words = key_words(key)
    if not words:
        return None
    if "_".join(words) in CREDENTIAL_KEYS or words[-1] in CREDENTIAL_WORDS:
        return "credential"
    if words[-1].endswith(CREDENTIAL_SUFFIXES) or (len(words) > 1 and words[-1] in CREDENTIAL_TAILS):
        return "credential"
    if words[-1] == "key" and len(words) > 1:
        return "credential" if words[-2] in SECRET_KEY_PREFIXES else "key"
    return None


def _accept(value: str, kind: str, in_comment: bool, separator: str = "=") -> bool:
    if is_reference(value, separator):
        return False
    if in_comment:
        return looks_secret(value) and (kind != "key" or looks_random(value))
    if kind == "key":
        return bool(KEY_MATERIAL.match(value)) and looks_random(value)
    return len(value) >= 3


def is_comment(line: str) -> bool:
    """A comment line; a crontab entry whose schedule starts with ``*`` (``*/5 * * * *``) is not."""
    stripped = line.lstrip()
    return stripped.startswith(COMMENT_PREFIXES) and not CRON_SCHEDULE.match(stripped)


def _pairs(body: str, in_comment: bool) -> str | None:
    for match in KEY_VALUE.finditer(body):
        kind = key_kind(match.group("key"))
        value = match.group("quoted") if match.group("quote") else match.group("bare")
        if kind and value is not None and _accept(value, kind, in_comment, match.group("sep")):
            return f"credential assigned to {match.group('key')}"
    for pattern in (XML_ELEMENT, XML_NAME_VALUE, PHP_DEFINE):
        for match in pattern.finditer(body):
            kind = key_kind(match.group("key"))
            if kind and _accept(match.group("value").strip(), kind, in_comment):
                return f"credential assigned to {match.group('key')}"
    directive = SPACE_DIRECTIVE.match(body)
    if directive and _accept(directive.group("value"), "credential", in_comment):
        return f"credential assigned to {directive.group('key')}"
    acl = REDIS_ACL_PASSWORD.match(body)
    if acl and _accept(acl.group("value"), "credential", in_comment):
        return "plaintext password in a Redis ACL rule"
    return None


def _url_or_header(body: str, in_comment: bool) -> str | None:
    for match in URL_USERINFO.finditer(body):
        if _accept(match.group("value"), "credential", in_comment):
            return "URL with embedded password"
    header = AUTH_HEADER.search(body)
    if header and _accept(header.group("value"), "credential", in_comment) and len(header.group("value")) >= 8:
        return f"Authorization {header.group('scheme').title()} credential"
    return None


def _flags(body: str, in_comment: bool) -> str | None:
    for match in LONG_FLAG.finditer(body):
        value = match.group("value").strip("'\"")
        credential = key_kind(match.group("key")) == "credential" and not value.startswith("-")
        if credential and _accept(value, "credential", in_comment):
            return f"credential in --{match.group('key')}"
    quoted = P_QUOTED.search(body)
    if quoted and _accept(quoted.group("value"), "credential", in_comment):
        return "credential in -p'...'"
    if MYSQL_TOOLS.search(body):
        attached = P_ATTACHED.search(body)
        if (
            attached
            and not attached.group("value").isdigit()
            and _accept(attached.group("value"), "credential", in_comment)
        ):
            return "credential in -p<password>"
    return _tool_flags(body, in_comment)


def _tool_flags(body: str, in_comment: bool) -> str | None:
    """Tools whose short option takes the password: redis-cli -a, sshpass -p, curl -u user:pw."""
    option = REDIS_CLI_A.search(body) if "redis-cli" in body else None
    if option and _accept(option.group("value"), "credential", in_comment):
        return "credential in redis-cli -a"
    sshpass = SSHPASS_P.search(body)
    if sshpass and _accept(sshpass.group("value"), "credential", in_comment):
        return "credential in sshpass -p"
    user = CURL_USER.search(body)
    if user and _accept(user.group("value"), "credential", in_comment):
        return "credential in -u user:password"
    return None


def _wrapped_private_key(text: str) -> bool:
    """A base64 token that decodes to a PEM private key block (``-----BEGIN ... PRIVATE KEY``)."""
    for match in BASE64_PEM.finditer(text):
        token = match.group(0)
        head = token[: len(token) // 4 * 4][:200]  # whole quanta: enough for the BEGIN line
        try:
            decoded = base64.b64decode(head, validate=True)
        except (binascii.Error, ValueError):
            continue
        first = decoded.split(b"\n", 1)[0]
        if first.startswith(b"-----BEGIN ") and b"PRIVATE KEY" in first:
            return True
    return False


def scan_line(line: str) -> str | None:
    """What credential the line carries, or None (the value itself is never returned)."""
    stripped = line.strip()
    if not stripped:
        return None
    for pattern, what in TOKEN_FORMATS:
        if pattern.search(stripped):
            return what
    if _wrapped_private_key(stripped):
        return "base64-encoded private key block"
    in_comment = is_comment(stripped)
    body = stripped.lstrip("#;/-*! \t") if in_comment else stripped
    return _pairs(body, in_comment) or _url_or_header(body, in_comment) or _flags(body, in_comment)


def _continued(lines: list[str]) -> list[tuple[int, int, str]]:
    """(first, last line number, joined text) of each run of lines continued by a trailing backslash.

    systemd unit files and shell env files join such lines, so ``--password \\`` and the value on
    the next line are one argument pair.
    """
    groups = []
    start = 0
    while start < len(lines):
        end = start
        while end < len(lines) - 1 and lines[end].rstrip().endswith("\\"):
            end += 1
        if end > start:
            parts = [lines[i].rstrip().removesuffix("\\").strip() for i in range(start, end)]
            groups.append((start + 1, end + 1, " ".join([*parts, lines[end].strip()])))
        start = end + 1
    return groups


def _block_scalars(lines: list[str]) -> list[tuple[int, str]]:
    """(line number, what) of YAML block scalars (``password: |`` / ``>-``) whose key names a credential.

    The value is the first non-blank line indented deeper than the key; a tag or anchor on the
    header (``!vault |``) is left alone, and a value that is a reference (``$ANSIBLE_VAULT;...``)
    is no credential. Commented-out headers are not followed.
    """
    found = []
    for index, line in enumerate(lines):
        header = YAML_BLOCK.match(line.strip().removeprefix("- "))
        if header is None or header.group("props") or is_comment(line):
            continue
        key = header.group("key").strip("\"'")
        kind = key_kind(key)
        if not kind:
            continue
        following = next((nxt for nxt in islice(lines, index + 1, None) if nxt.strip()), None)
        if following is None or _indent(following) <= _indent(line):
            continue
        if _accept(following.strip(), kind, in_comment=False):
            found.append((index + 1, f"credential assigned to {key}"))
    return found


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def scan_text(text: str) -> list[Hit]:
    """Every credential-carrying line of ``text`` (1-based line numbers).

    A credential only visible once continued lines are joined, or held by a YAML block scalar,
    is reported at the first line.
    """
    lines = text.splitlines()
    found = {number: what for number, line in enumerate(lines, 1) if (what := scan_line(line)) is not None}
    for number, what in _block_scalars(lines):
        found.setdefault(number, what)
    for first, last, joined in _continued(lines):
        if not any(first <= number <= last for number in found) and (what := scan_line(joined)) is not None:
            found[first] = what
    return [Hit(number, what) for number, what in sorted(found.items())]
