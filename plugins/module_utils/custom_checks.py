"""Declarative custom checks: site rules written as data (YAML/JSON), no Python needed.

A spec is a mapping with ``id``, ``title``, ``severity``, optional ``category`` (default
``custom``), ``rationale``, ``remediation``, ``references`` and exactly one kind:

- ``file: {path, mode_max, owner, group}``          mode at most mode_max, owner/group exact
- ``regex: {path, pattern, present: true|false}``   a regex (multiline) found / absent in a file
- ``command: {argv, expect_rc, stdout_regex}``      command exit code and/or output
- ``sysctl: {name, value}``                         /proc/sys value
- ``port: {port, proto, listening: bool}``          a listening socket present / absent
- ``package_absent: {name}``                        a package is not installed
- ``service: {name, state: active|inactive, enabled: bool}``
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts, ProbeError
from ansible_collections.rampart.hardening.plugins.module_utils.model import (
    CATEGORIES,
    Result,
    Severity,
    error,
    failed,
    passed,
)
from ansible_collections.rampart.hardening.plugins.module_utils.registry import (
    RegisteredCheck,
    make_meta,
)

KINDS: dict[str, dict[str, tuple[type | tuple[type, ...], bool]]] = {
    # kind: {key: (accepted types, required)}
    "file": {"path": (str, True), "mode_max": ((str, int), False), "owner": (str, False), "group": (str, False)},
    "regex": {"path": (str, True), "pattern": (str, True), "present": (bool, False)},
    "command": {"argv": (list, True), "expect_rc": (int, False), "stdout_regex": (str, False)},
    "sysctl": {"name": (str, True), "value": ((str, int), True)},
    "port": {"port": (int, True), "proto": (str, False), "listening": (bool, False)},
    "package_absent": {"name": (str, True)},
    "service": {"name": (str, True), "state": (str, False), "enabled": (bool, False)},
}
TOP_KEYS = {"id", "title", "severity", "category", "rationale", "remediation", "references", *KINDS}
ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
SAFE_NAME_RE = re.compile(r"^[A-Za-z0-9@_.:+-]+$")
DEFAULT_RATIONALE = "Site policy declared as a Rampart custom check."
DEFAULT_REMEDIATION = "Bring the host in line with the site policy this check declares."


class CustomCheckError(ValueError):
    """One or more custom check specs are malformed; ``problems`` lists them all."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid custom checks:\n  - " + "\n  - ".join(problems))


# ----- validation -------------------------------------------------------------------------
def _mode_value(raw: str | int) -> int:
    if isinstance(raw, int):
        value = raw
    elif re.fullmatch(r"0?[0-7]{3,4}", raw):
        value = int(raw, 8)
    else:
        raise ValueError(f"mode_max must be an octal string such as '0640', got {raw!r}")
    if not 0 <= value <= 0o7777:
        raise ValueError(f"mode_max out of range: {raw!r}")
    return value


def _kind_problems(where: str, kind: str, body: Any) -> list[str]:
    if not isinstance(body, Mapping):
        return [f"{where}: '{kind}' must be a mapping"]
    fields = KINDS[kind]
    problems = [f"{where}: unknown key '{kind}.{key}'" for key in sorted(set(body) - set(fields))]
    for key, (types, required) in fields.items():
        if key not in body:
            if required:
                problems.append(f"{where}: '{kind}.{key}' is required")
            continue
        value = body[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in _as_tuple(types)):
            problems.append(f"{where}: '{kind}.{key}' has the wrong type ({type(value).__name__})")
    if problems:
        return problems
    return _semantic_problems(where, kind, body)


def _as_tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def _file_problems(where: str, body: Mapping[str, Any]) -> list[str]:
    problems = []
    if "mode_max" in body:
        try:
            _mode_value(body["mode_max"])
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
    if not {"mode_max", "owner", "group"} & set(body):
        problems.append(f"{where}: 'file' needs at least one of mode_max, owner, group")
    return problems


def _command_problems(where: str, body: Mapping[str, Any]) -> list[str]:
    problems = []
    argv = body["argv"]
    if not argv or not all(isinstance(item, str) for item in argv):
        problems.append(f"{where}: 'command.argv' must be a non-empty list of strings")
    if "expect_rc" not in body and "stdout_regex" not in body:
        problems.append(f"{where}: 'command' needs expect_rc and/or stdout_regex")
    return problems


def _sysctl_problems(where: str, body: Mapping[str, Any]) -> list[str]:
    if re.fullmatch(r"[a-z0-9_]+(\.[A-Za-z0-9_-]+)+", body["name"]):
        return []
    return [f"{where}: 'sysctl.name' looks wrong: {body['name']!r}"]


def _port_problems(where: str, body: Mapping[str, Any]) -> list[str]:
    problems = []
    if not 1 <= body["port"] <= 65535:
        problems.append(f"{where}: 'port.port' must be 1-65535, got {body['port']}")
    if body.get("proto", "tcp") not in ("tcp", "udp"):
        problems.append(f"{where}: 'port.proto' must be tcp or udp")
    return problems


def _named_problems(where: str, kind: str, body: Mapping[str, Any]) -> list[str]:
    problems = []
    if not SAFE_NAME_RE.match(body["name"]):
        problems.append(f"{where}: '{kind}.name' has unexpected characters: {body['name']!r}")
    if kind == "service":
        if body.get("state") not in (None, "active", "inactive"):
            problems.append(f"{where}: 'service.state' must be active or inactive")
        if "state" not in body and "enabled" not in body:
            problems.append(f"{where}: 'service' needs state and/or enabled")
    return problems


def _semantic_problems(where: str, kind: str, body: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    path = body.get("path")
    if path is not None and not path.startswith("/"):
        problems.append(f"{where}: '{kind}.path' must be absolute, got {path!r}")
    for key in ("pattern", "stdout_regex"):
        if key in body:
            try:
                re.compile(body[key])
            except re.error as exc:
                problems.append(f"{where}: '{kind}.{key}' is not a valid regex: {exc}")
    if kind == "file":
        problems.extend(_file_problems(where, body))
    elif kind == "command":
        problems.extend(_command_problems(where, body))
    elif kind == "sysctl":
        problems.extend(_sysctl_problems(where, body))
    elif kind == "port":
        problems.extend(_port_problems(where, body))
    elif kind in ("package_absent", "service"):
        problems.extend(_named_problems(where, kind, body))
    return problems


def spec_problems(spec: Any, index: int) -> list[str]:
    """Every problem with one spec (empty when it is valid)."""
    label = spec.get("id") if isinstance(spec, Mapping) else None
    where = f"custom_checks[{index}]" + (f" ({label})" if isinstance(label, str) else "")
    if not isinstance(spec, Mapping):
        return [f"{where}: expected a mapping, got {type(spec).__name__}"]
    problems = [f"{where}: unknown key '{key}'" for key in sorted(set(spec) - TOP_KEYS)]
    if not isinstance(label, str) or not ID_RE.match(label):
        problems.append(f"{where}: 'id' is required: letters, digits, '-', '_', '.' (e.g. SITE-01)")
    if not isinstance(spec.get("title"), str) or not spec["title"].strip():
        problems.append(f"{where}: 'title' is required")
    if spec.get("severity") not in [s.value for s in Severity]:
        problems.append(
            f"{where}: 'severity' must be one of {', '.join(s.value for s in Severity)}, got {spec.get('severity')!r}"
        )
    if spec.get("category", "custom") not in CATEGORIES:
        problems.append(f"{where}: unknown category {spec.get('category')!r}")
    refs = spec.get("references", [])
    if not isinstance(refs, list) or not all(isinstance(ref, str) for ref in refs):
        problems.append(f"{where}: 'references' must be a list of strings")
    kinds = [kind for kind in KINDS if kind in spec]
    if len(kinds) != 1:
        problems.append(f"{where}: exactly one of {', '.join(KINDS)} is required, got {len(kinds)}")
    else:
        problems.extend(_kind_problems(where, kinds[0], spec[kinds[0]]))
    return problems


# ----- evaluation -------------------------------------------------------------------------
def eval_file(facts: Facts, body: Mapping[str, Any]) -> Result:
    st = facts.stat(body["path"])
    if st is None:
        return failed(f"{body['path']} does not exist")
    seen = f"{body['path']}: mode {st.mode:04o} owner {st.owner} group {st.group}"
    problems = []
    if "mode_max" in body:
        limit = _mode_value(body["mode_max"])
        if st.mode & ~limit:
            problems.append(f"mode {st.mode:04o} exceeds {limit:04o}")
    if "owner" in body and st.owner != body["owner"]:
        problems.append(f"owner is {st.owner}, expected {body['owner']}")
    if "group" in body and st.group != body["group"]:
        problems.append(f"group is {st.group}, expected {body['group']}")
    if problems:
        return failed("; ".join(problems), [seen])
    return passed(f"{body['path']} has the expected ownership and mode", [seen])


def eval_regex(facts: Facts, body: Mapping[str, Any]) -> Result:
    text = facts.read_text(body["path"])
    present = body.get("present", True)
    if text is None:
        if present:
            return failed(f"{body['path']} does not exist")
        return passed(f"{body['path']} does not exist, so the pattern is absent")
    match = re.search(body["pattern"], text, re.MULTILINE)
    if match is not None:
        line = text.count("\n", 0, match.start()) + 1
        seen = [f"{body['path']}:{line}: {text.splitlines()[line - 1][:200] if text.splitlines() else ''}"]
        if present:
            return passed(f"pattern found in {body['path']}", seen)
        return failed(f"forbidden pattern found in {body['path']}", seen)
    if present:
        return failed(f"pattern /{body['pattern']}/ not found in {body['path']}")
    return passed(f"pattern absent from {body['path']}")


def eval_command(facts: Facts, body: Mapping[str, Any]) -> Result:
    out = facts.run(body["argv"])
    cmd = " ".join(body["argv"])
    if out.rc == 127:
        return error(f"{body['argv'][0]} is not installed")
    seen = [f"$ {cmd} -> rc {out.rc}", *out.stdout.splitlines()[:5]]
    if "expect_rc" in body and out.rc != body["expect_rc"]:
        return failed(f"{cmd} exited {out.rc}, expected {body['expect_rc']}", seen)
    if "stdout_regex" in body and not re.search(body["stdout_regex"], out.stdout, re.MULTILINE):
        return failed(f"{cmd} output does not match /{body['stdout_regex']}/", seen)
    return passed(f"{cmd} behaves as declared", seen)


def eval_sysctl(facts: Facts, body: Mapping[str, Any]) -> Result:
    name = body["name"]
    text = facts.read_text("/proc/sys/" + name.replace(".", "/"))
    if text is None:
        return error(f"sysctl {name} does not exist on this kernel")
    actual = " ".join(text.split())
    expected = " ".join(str(body["value"]).split())
    seen = [f"{name} = {actual}"]
    if actual != expected:
        return failed(f"{name} is {actual}, expected {expected}", seen)
    return passed(f"{name} = {expected}", seen)


def _listening(facts: Facts) -> list[tuple[str, str, int]]:
    def probe() -> list[tuple[str, str, int]]:
        out = facts.run(("ss", "-H", "-l", "-n", "-t", "-u"))
        if out.rc != 0:
            raise ProbeError(f"ss failed (rc {out.rc}): {out.stderr.strip()}")
        sockets = []
        for line in out.stdout.splitlines():
            cols = line.split()
            if len(cols) >= 5 and cols[4].rpartition(":")[2].isdigit():
                address, _unused, port = cols[4].rpartition(":")
                sockets.append((cols[0], address, int(port)))
        return sockets

    return facts.cached("custom_checks:listening", probe)


def eval_port(facts: Facts, body: Mapping[str, Any]) -> Result:
    proto = body.get("proto", "tcp")
    want = body.get("listening", True)
    hits = [f"{p} {a}:{port}" for p, a, port in _listening(facts) if p == proto and port == body["port"]]
    label = f"{proto}/{body['port']}"
    if hits and want:
        return passed(f"{label} is listening", hits)
    if hits:
        return failed(f"{label} is listening but must not be", hits)
    if want:
        return failed(f"nothing listens on {label}")
    return passed(f"nothing listens on {label}")


def eval_package_absent(facts: Facts, body: Mapping[str, Any]) -> Result:
    name = body["name"]
    out = facts.run(("dpkg-query", "-W", "-f=${Status} ${Version}", name))
    if out.rc != 127:
        installed = out.rc == 0 and " installed " in f" {out.stdout} "
        seen = [f"dpkg-query: {out.stdout.strip() or out.stderr.strip()}"]
    else:
        out = facts.run(("rpm", "-q", name))
        if out.rc == 127:
            return error("neither dpkg-query nor rpm is available")
        installed = out.rc == 0
        seen = [f"rpm -q: {out.stdout.strip() or out.stderr.strip()}"]
    if installed:
        return failed(f"package {name} is installed", seen)
    return passed(f"package {name} is not installed", seen)


def eval_service(facts: Facts, body: Mapping[str, Any]) -> Result:
    name = body["name"]
    problems: list[str] = []
    seen: list[str] = []
    if "state" in body:
        out = facts.run(("systemctl", "is-active", name))
        if out.rc == 127:
            return error("systemctl is not available")
        state = out.stdout.strip() or "unknown"
        seen.append(f"is-active: {state}")
        is_active = state in ("active", "reloading", "activating")
        if is_active != (body["state"] == "active"):
            problems.append(f"{name} is {state}, expected {body['state']}")
    if "enabled" in body:
        out = facts.run(("systemctl", "is-enabled", name))
        if out.rc == 127:
            return error("systemctl is not available")
        enabled = out.stdout.strip() or "unknown"
        seen.append(f"is-enabled: {enabled}")
        if (enabled in ("enabled", "enabled-runtime", "alias")) != body["enabled"]:
            problems.append(f"{name} is {enabled}, expected {'enabled' if body['enabled'] else 'disabled'}")
    if problems:
        return failed("; ".join(problems), seen)
    return passed(f"{name} is in the declared state", seen)


EVALUATORS: dict[str, Callable[[Facts, Mapping[str, Any]], Result]] = {
    "file": eval_file,
    "regex": eval_regex,
    "command": eval_command,
    "sysctl": eval_sysctl,
    "port": eval_port,
    "package_absent": eval_package_absent,
    "service": eval_service,
}


def _bind(kind: str, body: Mapping[str, Any]) -> Callable[[Facts], Result]:
    evaluator = EVALUATORS[kind]

    def run(facts: Facts) -> Result:
        return evaluator(facts, body)

    return run


def compile_custom_checks(specs: Iterable[Mapping[str, Any]] | None) -> list[RegisteredCheck]:
    """Validate every spec (all problems reported at once) and build runnable checks."""
    spec_list = list(specs or ())
    problems = [problem for index, spec in enumerate(spec_list) for problem in spec_problems(spec, index)]
    ids = [spec.get("id") for spec in spec_list if isinstance(spec, Mapping)]
    problems.extend(
        f"custom check id {dup!r} is used more than once" for dup in sorted({i for i in ids if ids.count(i) > 1})
    )
    if problems:
        raise CustomCheckError(problems)
    compiled = []
    for spec in spec_list:
        kind = next(kind for kind in KINDS if kind in spec)
        meta = make_meta(
            id=spec["id"],
            title=spec["title"],
            category=spec.get("category", "custom"),
            severity=spec["severity"],
            rationale=spec.get("rationale", DEFAULT_RATIONALE),
            remediation=spec.get("remediation", DEFAULT_REMEDIATION),
            references=tuple(spec.get("references", ())),
        )
        compiled.append(RegisteredCheck(meta=meta, run=_bind(kind, dict(spec[kind]))))
    return compiled
