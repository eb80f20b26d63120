"""Parse pg_hba.conf text, or rows of ``pg_hba_file_rules`` (as JSON objects)."""

from __future__ import annotations

import ipaddress
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.parsers import ParseError

CONNECTION_TYPES = ("local", "host", "hostssl", "hostnossl", "hostgssenc", "hostnogssenc")
METHODS = (
    "trust",
    "reject",
    "scram-sha-256",
    "md5",
    "password",
    "gss",
    "sspi",
    "ident",
    "peer",
    "pam",
    "ldap",
    "radius",
    "cert",
    "bsd",
)
LOOPBACK_WORDS = ("localhost", "samehost")
# Address keywords. hba.c's token_is_keyword() matches them only unquoted and in lower case
# (strcmp): ``"all"``, ``ALL`` or ``"samehost"`` is a host name, looked up in DNS like any other.
ADDRESS_KEYWORDS = ("all", "samehost", "samenet")
# PostgreSQL 16: lines that pull other files in where they stand.
INCLUDE_KEYWORDS = ("include", "include_if_exists", "include_dir")


@dataclass(frozen=True)
class HbaRule:
    line: int
    type: str
    databases: tuple[str, ...]
    users: tuple[str, ...]
    address: str | None
    method: str
    options: tuple[str, ...] = ()
    file: str = ""  # an included file (PostgreSQL 16 include directives); "" for pg_hba.conf itself
    hostname: bool = False  # the address spells a keyword quoted or in another case: a host name

    def text(self) -> str:
        fields = [self.type, ",".join(self.databases), ",".join(self.users)]
        if self.address:
            fields.append(f'"{self.address}"' if self.hostname and self.address in ADDRESS_KEYWORDS else self.address)
        fields.append(self.method)
        return " ".join([*fields, *self.options])

    def evidence(self) -> str:
        where = f" ({self.file})" if self.file else ""
        return f"pg_hba line {self.line}{where}: {self.text()}"

    @property
    def is_remote(self) -> bool:
        """True for a host* rule that admits more than the loopback interface."""
        if self.type == "local":
            return False
        if self.address in LOOPBACK_WORDS and not self.hostname:
            return False
        try:
            network = ipaddress.ip_network(self.address or "", strict=False)
        except ValueError:
            return True  # all, samenet, hostnames: reachable from elsewhere
        return not network.is_loopback


def _address(fields: list[str], number: int) -> tuple[str, list[str]]:
    if len(fields) < 2:
        raise ParseError(f"pg_hba line {number}: missing address or method")
    address, rest = fields[0], fields[1:]
    if "/" not in address and rest and _looks_like_netmask(rest[0]):
        address = f"{address}/{ipaddress.ip_network(f'0.0.0.0/{rest[0]}').prefixlen}"
        rest = rest[1:]
    return address, rest


def _looks_like_netmask(word: str) -> bool:
    try:
        ipaddress.IPv4Address(word)
    except ValueError:
        return False
    return True


def include_directive(line: str, number: int) -> tuple[str, str] | None:
    """``include``/``include_if_exists``/``include_dir`` line -> (keyword, file or directory), else None."""
    try:
        fields = shlex.split(line, comments=True)
    except ValueError as exc:
        raise ParseError(f"pg_hba line {number}: {exc}") from exc
    if not fields or fields[0] not in INCLUDE_KEYWORDS:
        return None
    if len(fields) != 2:
        raise ParseError(f"pg_hba line {number}: {fields[0]} takes exactly one file name")
    return fields[0], fields[1]


def _quoted(line: str) -> list[bool]:
    """For each field of the line, whether it was written in double quotes (shlex drops them)."""
    lexer = shlex.shlex(line, posix=False)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        return [token.startswith('"') for token in lexer]
    except ValueError:
        return []


def _is_hostname(word: str, quoted: bool) -> bool:
    """An address that looks like a keyword but is not one for hba.c (quoted, or not in lower case)."""
    return word.lower() in ADDRESS_KEYWORDS and (quoted or word not in ADDRESS_KEYWORDS)


def parse_hba_line(line: str, number: int) -> HbaRule | None:
    """One pg_hba.conf line -> rule (None for blanks, comments and include directives)."""
    try:
        fields = shlex.split(line, comments=True)
    except ValueError as exc:
        raise ParseError(f"pg_hba line {number}: {exc}") from exc
    if not fields or fields[0] in INCLUDE_KEYWORDS:
        return None
    if fields[0] not in CONNECTION_TYPES:
        raise ParseError(f"pg_hba line {number}: unknown connection type {fields[0]!r}")
    minimum = 4 if fields[0] == "local" else 5
    if len(fields) < minimum:
        raise ParseError(f"pg_hba line {number}: expected at least {minimum} fields")
    databases, users = tuple(fields[1].split(",")), tuple(fields[2].split(","))
    address: str | None = None
    hostname = False
    rest = fields[3:]
    if fields[0] != "local":
        quoted = _quoted(line)
        hostname = _is_hostname(fields[3], len(quoted) == len(fields) and quoted[3])
        address, rest = _address(rest, number)
    if not rest or rest[0] not in METHODS:
        raise ParseError(f"pg_hba line {number}: unknown auth method {rest[0] if rest else ''!r}")
    return HbaRule(number, fields[0], databases, users, address, rest[0], tuple(rest[1:]), hostname=hostname)


def parse_hba(text: str) -> list[HbaRule]:
    """pg_hba.conf content -> rules (in file order)."""
    rules = []
    for number, line in enumerate(text.splitlines(), 1):
        rule = parse_hba_line(line, number)
        if rule is not None:
            rules.append(rule)
    return rules


def _netmask_to_prefix(address: str, netmask: str | None) -> str:
    if not netmask:
        return address
    try:
        prefix = ipaddress.ip_network(f"{address}/{netmask}", strict=False).prefixlen
    except ValueError:
        # IPv6 netmasks come as addresses too (pg_hba_file_rules shows ::/0 as "::" / "::").
        try:
            bits = int(ipaddress.ip_address(netmask))
            width = ipaddress.ip_address(netmask).max_prefixlen
        except ValueError:
            return address
        prefix = width - (bits ^ ((1 << width) - 1)).bit_length()
    return f"{address}/{prefix}"


@dataclass(frozen=True)
class HbaError:
    """A pg_hba.conf line the server refuses (a row of ``pg_hba_file_rules`` with ``error``)."""

    line: int
    error: str
    file: str = ""  # an included file; "" for pg_hba.conf itself

    def evidence(self) -> str:
        where = f" ({self.file})" if self.file else ""
        return f"pg_hba line {self.line}{where}: {self.error}"


def from_file_rules(rows: Iterable[Mapping[str, Any]]) -> list[HbaRule]:
    """Rows of ``pg_hba_file_rules`` (JSON objects from the psql probe) -> rules.

    A row with ``error`` set is a line the server could not load: reported as ParseError.
    """
    rules, errors = file_rules_and_errors(rows)
    if errors:
        raise ParseError(errors[0].evidence())
    return rules


def file_rules_and_errors(rows: Iterable[Mapping[str, Any]]) -> tuple[list[HbaRule], list[HbaError]]:
    """Rows of ``pg_hba_file_rules`` -> (the valid rules, the lines the server refuses).

    The view reads pg_hba.conf from disk (what the next reload or restart loads), so the
    valid rows are still judged while the refused ones become findings of their own.
    """
    rules: list[HbaRule] = []
    errors: list[HbaError] = []
    for row in rows:
        if not isinstance(row, Mapping):
            raise ParseError(f"unexpected pg_hba_file_rules row {row!r:.60}")
        if row.get("error"):
            errors.append(HbaError(int(row.get("line") or 0), str(row["error"])))
            continue
        address = row.get("address")
        rules.append(
            HbaRule(
                line=int(row.get("line") or 0),
                type=str(row.get("type")),
                databases=tuple(row.get("database") or ()),
                users=tuple(row.get("user") or ()),
                address=_netmask_to_prefix(address, row.get("netmask")) if address else None,
                method=str(row.get("method")),
                options=tuple(row.get("options") or ()),
            )
        )
    return rules, errors
