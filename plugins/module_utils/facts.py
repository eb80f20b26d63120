"""Facts: the one object every check reads the host through.

Checks never shell out or open files themselves; they call ``Facts`` methods, which
resolve paths under ``root`` (a fixture directory in tests, ``/`` on a host), cache
command output per argv, and memoize probe results with ``cached``.
"""

from __future__ import annotations

import glob as _glob
import json
import os
import stat as _stat
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ansible_collections.rampart.hardening.plugins.module_utils.model import Result

T = TypeVar("T")

DEFAULT_TIMEOUT = 20.0
SYSTEM_PATH = (
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
)


@dataclass
class CommandOutput:
    """Exit code and output of one command."""

    rc: int
    stdout: str
    stderr: str


class ProbeError(Exception):
    """A fact could not be gathered; the checks that need it report ``error``."""


@dataclass
class FileStat:
    """The parts of stat(2) that checks look at, with names resolved."""

    path: str
    mode: int
    uid: int
    gid: int
    owner: str
    group: str
    is_dir: bool
    is_link: bool
    size: int


Runner = Callable[[Sequence[str]], CommandOutput]


def subprocess_runner(argv: Sequence[str], timeout: float = DEFAULT_TIMEOUT) -> CommandOutput:
    """Run argv without a shell in the C locale; missing binary -> rc 127, timeout -> rc 124."""
    env = dict(os.environ, LC_ALL="C", LANG="C")
    env["PATH"] = os.pathsep.join([env.get("PATH", ""), *SYSTEM_PATH]).strip(os.pathsep)
    try:
        proc = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            env=env,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except FileNotFoundError:
        return CommandOutput(127, "", f"{argv[0]}: command not found")
    except PermissionError as exc:
        return CommandOutput(126, "", f"{argv[0]}: {exc}")
    except subprocess.TimeoutExpired:
        return CommandOutput(124, "", f"{' '.join(argv)}: timed out after {timeout:g}s")
    return CommandOutput(proc.returncode, proc.stdout, proc.stderr)


class FixtureRunner:
    """A runner for tests: maps argv tuples to canned output; anything else is rc 127."""

    def __init__(self, outputs: Mapping[tuple[str, ...], CommandOutput] | None = None) -> None:
        self.outputs: dict[tuple[str, ...], CommandOutput] = dict(outputs or {})
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, argv: Sequence[str]) -> CommandOutput:
        key = tuple(argv)
        self.calls.append(key)
        if key in self.outputs:
            return self.outputs[key]
        return CommandOutput(127, "", f"{key[0] if key else ''}: command not found")


class _Raised:
    """A memoized exception (so a broken probe is tried once per run)."""

    def __init__(self, exc: ProbeError) -> None:
        self.exc = exc


def _read_id_names(path: str) -> dict[int, str]:
    names: dict[int, str] = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                fields = line.rstrip("\n").split(":")
                if len(fields) >= 3 and fields[2].isdigit():
                    names.setdefault(int(fields[2]), fields[0])
    except OSError:
        pass
    return names


class Facts:
    """Read-only view of one host, shared by all checks of one audit run."""

    def __init__(
        self,
        runner: Runner | None = None,
        root: str = "/",
        intent_dir: str = "/etc/rampart/intent",
        live: dict[str, Result] | None = None,
        network: Any = None,
        *,
        try_default_logins: bool = True,
    ) -> None:
        self.runner: Runner = runner or subprocess_runner
        # SEC-05 logs in with default passwords; a scheduled audit may turn that off (each attempt
        # writes a failed-authentication line every period): the check then says it did not try.
        self.try_default_logins = try_default_logins
        # How on-host login attempts reach services (probes/credentials.py); None: real sockets
        # when auditing the live host (root "/"), no attempts when auditing a file tree.
        self.network: Any = network
        self.root = os.fspath(root)
        self.intent_dir = intent_dir
        self.live: dict[str, Result] = dict(live or {})
        self._commands: dict[tuple[str, ...], CommandOutput] = {}
        self._cache: dict[str, Any] = {}
        self._unparsed: dict[str, list[Any]] = {}
        self.consulted: list[str] = []  # probe keys asked for, in order (checks.common.doubted_by)
        self._users: dict[int, str] | None = None
        self._groups: dict[int, str] | None = None

    # ----- paths ---------------------------------------------------------------------
    def host_path(self, path: str) -> str:
        """The real filesystem path of ``path`` (an absolute path on the audited host)."""
        if self.root in ("", "/"):
            return path
        return os.path.join(self.root, path.lstrip("/"))

    def _strip_root(self, real: str) -> str:
        if self.root in ("", "/"):
            return real
        rel = os.path.relpath(real, self.root)
        return "/" + ("" if rel == "." else rel)

    # ----- commands ------------------------------------------------------------------
    def run(self, argv: Sequence[str]) -> CommandOutput:
        """Run a command once per audit (output cached per argv tuple)."""
        key = tuple(argv)
        if key not in self._commands:
            self._commands[key] = self.runner(key)
        return self._commands[key]

    def which(self, name: str) -> bool:
        """True when an executable called ``name`` exists in PATH (under root)."""
        dirs = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d]
        for directory in [*dirs, *SYSTEM_PATH]:
            candidate = self.host_path(os.path.join(directory, name))
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return True
        return False

    # ----- files ---------------------------------------------------------------------
    def read_text(self, path: str) -> str | None:
        """File content as text, or None when it does not exist (other errors raise ProbeError)."""
        try:
            with open(self.host_path(path), encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise ProbeError(f"cannot read {path}: {exc.strerror or exc}") from exc

    def _names(self) -> tuple[dict[int, str], dict[int, str]]:
        if self._users is None or self._groups is None:
            self._users = _read_id_names(self.host_path("/etc/passwd"))
            self._groups = _read_id_names(self.host_path("/etc/group"))
        return self._users, self._groups

    def stat(self, path: str) -> FileStat | None:
        """stat() of ``path`` (following a symlink; ``is_link`` tells), or None if missing."""
        real = self.host_path(path)
        try:
            link = os.lstat(real)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise ProbeError(f"cannot stat {path}: {exc.strerror or exc}") from exc
        try:
            st = os.stat(real)
        except OSError:
            st = link  # dangling symlink: describe the link itself
        users, groups = self._names()
        return FileStat(
            path=path,
            mode=_stat.S_IMODE(st.st_mode),
            uid=st.st_uid,
            gid=st.st_gid,
            owner=users.get(st.st_uid, str(st.st_uid)),
            group=groups.get(st.st_gid, str(st.st_gid)),
            is_dir=_stat.S_ISDIR(st.st_mode),
            is_link=_stat.S_ISLNK(link.st_mode),
            size=st.st_size,
        )

    def glob(self, pattern: str) -> list[str]:
        """Paths on the host matching a glob pattern, sorted."""
        matches = _glob.glob(self.host_path(pattern))
        return sorted(self._strip_root(match) for match in matches)

    # ----- intent and memoization ------------------------------------------------------
    def intent(self, role: str) -> dict | None:
        """The intent a role declared (``<intent_dir>/<role>.json``), or None if absent."""
        return self.json_file(os.path.join(self.intent_dir, f"{role}.json"), "intent file ")

    def json_file(self, path: str, what: str = "") -> dict | None:
        """A JSON object file on the host; None when absent, ProbeError naming it when malformed."""
        text = self.read_text(path)
        if text is None:
            return None
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ProbeError(f"malformed {what}{path}: {exc}") from exc
        if not isinstance(data, dict):
            raise ProbeError(f"malformed {what}{path}: expected a JSON object")
        return data

    def note_unparsed(self, key: str, lines: Sequence[Any]) -> None:
        """Record the lines probe ``key`` skipped (parsers.Unparsed), for the checks that use it."""
        self._unparsed[key] = list(lines)

    def unparsed(self, key: str) -> list[Any]:
        """The lines probe ``key`` skipped in this run ([] when it parsed everything or never ran)."""
        return list(self._unparsed.get(key, []))

    def cached(self, key: str, fn: Callable[[], T]) -> T:
        """Memoize ``fn()`` under ``key`` for this run, including a raised ProbeError."""
        self.consulted.append(key)
        if key not in self._cache:
            try:
                self._cache[key] = fn()
            except ProbeError as exc:
                self._cache[key] = _Raised(exc)
        value = self._cache[key]
        if isinstance(value, _Raised):
            raise value.exc
        return value
