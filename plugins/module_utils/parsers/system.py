"""Parsers for small system outputs: ``systemctl show``, ``dpkg-query``, ``ps``, passwd, shadow."""

from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.rampart.hardening.plugins.module_utils.parsers import (
    ParseError,
    Unparsed,
    nothing_parsed,
    strict,
)


@dataclass(frozen=True)
class Unit:
    """The ``systemctl show`` properties the checks use."""

    id: str
    load_state: str
    active_state: str
    sub_state: str = ""
    unit_file_state: str = ""
    result: str = ""
    exec_main_status: str = ""
    user: str = ""

    @property
    def exists(self) -> bool:
        return self.load_state not in ("not-found", "")

    @property
    def active(self) -> bool:
        return self.active_state in ("active", "reloading")

    def evidence(self) -> str:
        return (
            f"{self.id}: {self.load_state}/{self.active_state}/{self.sub_state} enabled={self.unit_file_state or '-'}"
        )


FIELDS = {
    "Id": "id",
    "LoadState": "load_state",
    "ActiveState": "active_state",
    "SubState": "sub_state",
    "UnitFileState": "unit_file_state",
    "Result": "result",
    "ExecMainStatus": "exec_main_status",
    "User": "user",
}


def _unit_block(block: str) -> tuple[dict[str, str], str | None]:
    """One ``systemctl show`` block -> (values, why it is unusable or None)."""
    values: dict[str, str] = {}
    bad = None
    for line in block.splitlines():
        key, sep, value = line.partition("=")
        if not sep or not key or " " in key.strip():
            bad = bad or f"expected key=value, got {line.strip()[:60]!r}"  # a "● unit" status line, noise
            continue
        if key in FIELDS:
            values[FIELDS[key]] = value
    missing = [name for name in ("Id", "LoadState", "ActiveState") if FIELDS[name] not in values]
    if missing and not bad:
        bad = f"missing {'/'.join(missing)}"
    return values, bad


def parse_systemctl_show_lenient(text: str) -> tuple[dict[str, Unit], list[Unparsed]]:
    """``systemctl show -p ... unit...`` (blocks separated by blank lines) -> ({unit id: Unit},
    blocks skipped). A skipped block is named by its ``Id=`` when it has one."""
    units: dict[str, Unit] = {}
    unparsed: list[Unparsed] = []
    blocks = [block for block in text.strip().split("\n\n") if block.strip()]
    for number, block in enumerate(blocks, 1):
        values, bad = _unit_block(block)
        if bad:
            unparsed.append(Unparsed("systemctl show block", number, block, bad, values.get("id")))
        else:
            units[values["id"]] = Unit(**values)
    nothing_parsed(len(units), unparsed)
    return units, unparsed


def parse_systemctl_show(text: str) -> dict[str, Unit]:
    """``systemctl show -p ... unit...`` (blocks separated by blank lines) -> {unit id: Unit}."""
    units, unparsed = parse_systemctl_show_lenient(text)
    strict(unparsed)
    return units


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    status: str

    @property
    def installed(self) -> bool:
        return self.status.startswith("ii") or self.status.startswith("hi")


def parse_dpkg(text: str) -> dict[str, Package]:
    """``dpkg-query -W -f '${Package}\\t${Version}\\t${db:Status-Abbrev}\\n'`` -> {name: Package}."""
    packages = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise ParseError(f"dpkg-query line {number}: expected 3 tab-separated fields")
        name = fields[0].split(":")[0]  # drop ":amd64"
        packages[name] = Package(name, fields[1], fields[2].strip())
    return packages


@dataclass(frozen=True)
class Process:
    uid: int
    pid: int
    args: str

    @property
    def command(self) -> str:
        """Program name: basename of argv[0], or the title nginx/postgres set ("nginx:")."""
        first = self.args.split(" ", 1)[0]
        return first.rsplit("/", 1)[-1].rstrip(":")


def _process(line: str) -> Process:
    fields = line.split(None, 2)
    if len(fields) < 2 or not fields[0].isdigit() or not fields[1].isdigit():
        raise ParseError("expected 'uid pid args'")
    return Process(int(fields[0]), int(fields[1]), fields[2] if len(fields) > 2 else "")


def parse_ps_lenient(text: str) -> tuple[list[Process], list[Unparsed]]:
    """``ps -e -o uid= -o pid= -o args=`` -> (processes, lines skipped)."""
    processes: list[Process] = []
    unparsed: list[Unparsed] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            processes.append(_process(line))
        except ParseError as exc:
            unparsed.append(Unparsed("ps line", number, line, str(exc), redact=True))
    nothing_parsed(len(processes), unparsed)
    return processes, unparsed


def parse_ps(text: str) -> list[Process]:
    """``ps -e -o uid= -o pid= -o args=`` -> processes."""
    processes, unparsed = parse_ps_lenient(text)
    strict(unparsed)
    return processes


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int
    home: str
    shell: str

    @property
    def can_login(self) -> bool:
        return not self.shell.endswith(("nologin", "/false")) and self.shell not in ("", "/bin/sync")


def parse_passwd(text: str) -> dict[str, Account]:
    accounts = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split(":")
        if len(fields) != 7 or not fields[2].isdigit() or not fields[3].isdigit():
            raise ParseError(f"/etc/passwd line {number}: expected 7 fields")
        accounts[fields[0]] = Account(fields[0], int(fields[2]), int(fields[3]), fields[5], fields[6])
    return accounts


def parse_shadow(text: str) -> dict[str, str]:
    """/etc/shadow -> {user: password field} (callers only classify it, never report it)."""
    entries = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split(":")
        if len(fields) < 2:
            raise ParseError(f"/etc/shadow line {number}: expected 'name:password:...'")
        entries[fields[0]] = fields[1]
    return entries
