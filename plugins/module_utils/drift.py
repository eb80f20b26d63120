"""Drift: a snapshot of what the roles manage, compared with an approved baseline.

A snapshot holds the digests of the files our roles manage (chosen from the intent files
present, not the whole of /etc), the normalised nftables ruleset, the listening sockets,
the check verdicts and the versions of the roles' packages. ``compare`` turns two snapshots
into drift items; ``attribute`` asks dpkg which changed files now hold exactly what a
package shipped (an upgrade), so such changes are labelled, not hidden.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts, ProbeError

SNAPSHOT_FORMAT = "rampart-baseline/1"

# Files each role manages, used for every role whose intent file exists. A role may also
# list extra paths in its intent file under "managed_files".
ROLE_FILES: dict[str, tuple[str, ...]] = {
    "firewall": ("/etc/nftables.conf", "/etc/systemd/system/nftables.service.d/rampart.conf"),
    "nginx": (
        "/etc/nginx/nginx.conf",
        "/etc/nginx/mime.types",
        "/etc/nginx/rampart/*.conf",
        "/etc/nginx/rampart/*/*.conf",
        "/etc/nginx/snippets/rampart-*.conf",
        "/etc/nginx/conf.d/*.conf",
        "/etc/nginx/sites-enabled/*",
    ),
    "postgresql": (
        "/etc/postgresql/*/main/postgresql.conf",
        "/etc/postgresql/*/main/pg_hba.conf",
        "/etc/postgresql/*/main/conf.d/*.conf",
    ),
    "redis": ("/etc/redis/redis.conf", "/etc/redis/*.acl", "/etc/systemd/system/redis-server.service.d/*.conf"),
    "acme": ("/etc/letsencrypt/renewal/*.conf", "/etc/systemd/system/certbot.service.d/*.conf"),
    "ssh": ("/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/*.conf"),
    "backup": ("/etc/systemd/system/rampart-backup*.service", "/etc/systemd/system/rampart-backup*.timer"),
    "audit_agent": (
        "/etc/rampart/agent/agent.json",
        "/etc/systemd/system/rampart-audit.service",
        "/etc/systemd/system/rampart-audit.timer",
    ),
}

ROLE_PACKAGES: dict[str, tuple[str, ...]] = {
    "firewall": ("nftables",),
    "nginx": ("nginx", "nginx-common", "openssl", "libssl3"),
    "postgresql": ("postgresql", "postgresql-common"),
    "redis": ("redis-server", "redis-tools"),
    "acme": ("certbot",),
    "ssh": ("openssh-server",),
    "audit_agent": ("python3", "python3-cryptography"),
}

# The part of each role that re-renders a drifted file (``--tags``): the first pattern that matches
# the path wins. Self-healing re-applies it for drift that no failing check names (docs/remediation.md
# section 8). The agent's own files are not listed: it does not rewrite its own policy.
ROLE_FILE_TAGS: dict[str, tuple[tuple[str, str], ...]] = {
    "firewall": (("*", "firewall_rules"),),
    "nginx": (("*", "nginx_sites"),),
    "postgresql": (("*/pg_hba.conf", "postgresql_hba"), ("*", "postgresql_config")),
    "redis": (("*.acl", "redis_acl"), ("*", "redis_config")),
    "acme": (("*", "acme_renewal"),),
    "ssh": (("*", "ssh_config"),),
    "backup": (("*", "backup_service"),),
}
# Drift kinds that re-applying a role can undo, besides managed files.
KIND_FIX: dict[str, tuple[str, str]] = {"firewall_ruleset_changed": ("firewall", "firewall_rules")}

# The audit category a drifted subject is reported under.
ROLE_CATEGORY = {
    "firewall": "network",
    "nginx": "tls",
    "postgresql": "postgresql",
    "redis": "redis",
    "acme": "certificates",
    "ssh": "ssh_system",
    "backup": "backups",
    "audit_agent": "logging",
}

DYNAMIC_SET_FLAGS = {"dynamic", "timeout"}
VOLATILE_KEYS = {"handle", "packets", "bytes", "used", "expires"}
FAILING = {"fail", "error"}


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# ----- nftables ------------------------------------------------------------------------
def _strip(value: Any) -> Any:
    """Drop handles, counter values, quota usage and element expiry, recursively."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in VOLATILE_KEYS:
                continue
            if key == "counter" and isinstance(item, dict) and set(item) <= {"packets", "bytes"}:
                out[key] = None  # an anonymous counter: its presence matters, its value does not
                continue
            out[key] = _strip(item)
        return out
    if isinstance(value, list):
        return [_strip(item) for item in value]
    return value


def _is_dynamic_set(body: Mapping[str, Any]) -> bool:
    flags = body.get("flags") or []
    flags = [flags] if isinstance(flags, str) else flags
    return bool(DYNAMIC_SET_FLAGS & set(flags)) or "timeout" in body


def _element_is_dynamic(element: Any) -> bool:
    inner = element.get("elem") if isinstance(element, dict) else None
    return isinstance(inner, dict) and ("timeout" in inner or "expires" in inner)


def _normalise_set(body: dict[str, Any]) -> dict[str, Any]:
    body = dict(body)
    elements = body.get("elem")
    if _is_dynamic_set(body):
        body.pop("elem", None)  # filled by the packet path (meters, timeouts): not configuration
        return _strip(body)
    if isinstance(elements, list):
        kept = [_strip(item) for item in elements if not _element_is_dynamic(item)]
        body["elem"] = sorted(kept, key=canonical)
    return _strip(body)


def normalise_ruleset(data: Any) -> list[dict[str, Any]]:
    """``nft -j list ruleset`` without metainfo, handles, counters and dynamic set contents."""
    if not isinstance(data, dict) or not isinstance(data.get("nftables"), list):
        raise ValueError("not the output of nft -j list ruleset (no 'nftables' list)")
    out: list[dict[str, Any]] = []
    for item in data["nftables"]:
        if not isinstance(item, dict) or len(item) != 1:
            raise ValueError(f"unexpected ruleset item {item!r:.80}")
        kind, body = next(iter(item.items()))
        if kind == "metainfo":
            continue
        if kind in ("set", "map") and isinstance(body, dict):
            out.append({kind: _normalise_set(body)})
        elif kind == "meter":
            continue  # meters are dynamic by nature
        else:
            out.append({kind: _strip(body)})
    return out


def _describe(item: Mapping[str, Any]) -> str:
    kind, body = next(iter(item.items()))
    if not isinstance(body, dict):
        return kind
    place = " ".join(str(body[key]) for key in ("family", "table", "chain", "name") if key in body)
    if kind == "rule":
        return f"rule {place}: {canonical(body.get('expr'))[:160].decode('utf-8', 'replace')}"
    return f"{kind} {place}"


def ruleset_changes(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[str]:
    """Human-readable differences: objects added/removed, set elements added/removed."""
    changes = []
    sets_before = {_describe(i): i for i in before if next(iter(i)) in ("set", "map")}
    sets_after = {_describe(i): i for i in after if next(iter(i)) in ("set", "map")}
    for name in sorted(set(sets_before) & set(sets_after)):
        old = next(iter(sets_before[name].values())).get("elem")
        new = next(iter(sets_after[name].values())).get("elem")
        if isinstance(old, list) and isinstance(new, list):
            old_keys, new_keys = {canonical(e) for e in old}, {canonical(e) for e in new}
            changes += [f"{name}: element added {e.decode()}" for e in sorted(new_keys - old_keys)]
            changes += [f"{name}: element removed {e.decode()}" for e in sorted(old_keys - new_keys)]
    plain_before = {canonical(i) for i in before if _describe(i) not in sets_after}
    plain_after = {canonical(i) for i in after if _describe(i) not in sets_before}
    changes += ["added " + _describe(json.loads(i)) for i in sorted(plain_after - plain_before)]
    changes += ["removed " + _describe(json.loads(i)) for i in sorted(plain_before - plain_after)]
    if not changes and before != after:
        changes.append("rule order changed")
    return changes


# ----- snapshot --------------------------------------------------------------------------
def managed_roles(facts: Facts) -> list[str]:
    return sorted(os.path.basename(p)[:-5] for p in facts.glob(os.path.join(facts.intent_dir, "*.json")))


def managed_paths(facts: Facts, roles: Iterable[str]) -> dict[str, str]:
    """{path: role} for the files the present roles manage (their intent files included)."""
    paths: dict[str, str] = {}
    for role in roles:
        paths[os.path.join(facts.intent_dir, f"{role}.json")] = role
        try:
            declared = (facts.intent(role) or {}).get("managed_files") or []
        except ProbeError:
            declared = []
        for pattern in [*ROLE_FILES.get(role, ()), *[str(p) for p in declared]]:
            for path in facts.glob(pattern) if any(c in pattern for c in "*?[") else [pattern]:
                paths.setdefault(path, role)
    return dict(sorted(paths.items()))


def file_digest(facts: Facts, path: str) -> str | None:
    """sha256 of a file's bytes, None when it is missing (a directory counts as missing)."""
    try:
        with open(facts.host_path(path), "rb") as handle:
            return sha256(handle.read())
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"


def nft_snapshot(facts: Facts) -> dict[str, Any] | None:
    out = facts.run(("nft", "-j", "list", "ruleset"))
    if out.rc == 127:
        return None
    if out.rc != 0:
        return {"error": (out.stderr or out.stdout).strip()[:200] or f"rc {out.rc}"}
    try:
        ruleset = normalise_ruleset(json.loads(out.stdout))
    except ValueError as exc:
        return {"error": f"cannot parse nft -j output: {exc}"}
    return {"digest": sha256(canonical(ruleset)), "ruleset": ruleset}


def listener_snapshot(facts: Facts) -> list[str] | None:
    from ansible_collections.rampart.hardening.plugins.module_utils.probes.sockets import listeners  # noqa: PLC0415

    try:
        found = listeners(facts)
    except ProbeError:
        return None
    if found is None:
        return None
    return sorted({item.endpoint for item in found})


def unread_listener_lines(facts: Facts) -> list[str]:
    """The ss lines that could not be read: a listener on one of them is not in the snapshot."""
    return [f"line {line.number}: {line.text[:160]}" for line in facts.unparsed("ss")]


def package_snapshot(facts: Facts, roles: Iterable[str]) -> dict[str, str | None]:
    from ansible_collections.rampart.hardening.plugins.module_utils.probes.packages import packages  # noqa: PLC0415

    try:
        installed = packages(facts) or {}
    except ProbeError:
        installed = {}
    wanted = sorted({name for role in roles for name in ROLE_PACKAGES.get(role, ())})
    return {name: installed[name].version if name in installed else None for name in wanted}


def snapshot(facts: Facts, report: Mapping[str, Any], host: str, taken_at: str) -> dict[str, Any]:
    """Everything a baseline pins, from one host and one audit report."""
    roles = managed_roles(facts)
    paths = managed_paths(facts, roles)
    return {
        "format": SNAPSHOT_FORMAT,
        "host": host,
        "taken_at": taken_at,
        "roles": roles,
        "files": {path: {"role": role, "digest": file_digest(facts, path)} for path, role in paths.items()},
        "nft": nft_snapshot(facts),
        "listeners": listener_snapshot(facts),
        "listeners_unread": unread_listener_lines(facts),
        "checks": {f["id"]: f["status"] for f in report.get("findings", [])},
        "packages": package_snapshot(facts, roles),
    }


def snapshot_digest(snap: Mapping[str, Any]) -> str:
    return sha256(canonical(snap))


# ----- comparison ------------------------------------------------------------------------
def _item(kind: str, key: str, category: str, change: tuple[Any, Any], detail: str) -> dict[str, Any]:
    before, after = change
    return {"kind": kind, "key": key, "category": category, "before": before, "after": after, "detail": detail}


def _file_drift(baseline: Mapping[str, Any], current: Mapping[str, Any]) -> list[dict[str, Any]]:
    items = []
    old_files, new_files = baseline.get("files") or {}, current.get("files") or {}
    for path in sorted(set(old_files) | set(new_files)):
        old, new = old_files.get(path, {}), new_files.get(path, {})
        if old.get("digest") == new.get("digest"):
            continue
        role = new.get("role") or old.get("role") or ""
        verb = "created" if not old.get("digest") else "removed" if not new.get("digest") else "changed"
        item = _item(
            "managed_file_changed",
            path,
            ROLE_CATEGORY.get(role, "system"),
            (old.get("digest"), new.get("digest")),
            f"{path} ({role} role) {verb}",
        )
        items.append({**item, "role": role})
    return items


def fix_target(item: Mapping[str, Any]) -> tuple[str, str] | None:
    """The (role, tag) whose re-application undoes one drift item, or None when no role's run can
    (a new listener, a package upgrade, a check verdict: those are judged by the checks)."""
    kind = item.get("kind")
    if kind in KIND_FIX:
        return KIND_FIX[str(kind)]
    if kind != "managed_file_changed":
        return None
    role, path = str(item.get("role") or ""), str(item.get("key") or "")
    if path.endswith(f"/intent/{role}.json") and role in ROLE_FILE_TAGS:
        return role, f"{role}_intent"
    for pattern, tag in ROLE_FILE_TAGS.get(role, ()):
        if fnmatch.fnmatchcase(path, pattern):
            return role, tag
    return None


def _nft_drift(baseline: Mapping[str, Any], current: Mapping[str, Any]) -> list[dict[str, Any]]:
    old, new = baseline.get("nft") or {}, current.get("nft") or {}
    if old.get("digest") == new.get("digest"):
        return []
    changes = ruleset_changes(old.get("ruleset") or [], new.get("ruleset") or [])
    if "error" in new:
        changes = [f"ruleset could not be read: {new['error']}"]
    return [
        _item(
            "firewall_ruleset_changed",
            "nft ruleset",
            "network",
            (old.get("digest"), new.get("digest")),
            "; ".join(changes[:20]) or "ruleset changed",
        )
    ]


def _unreadable_listeners(baseline: Mapping[str, Any], current: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A comparison that cannot see every listener says so instead of reporting no drift."""
    unread = current.get("listeners_unread") or []
    if current.get("listeners") is None and baseline.get("listeners") is not None:
        detail = "the listening sockets could not be read (ss failed or is missing): a new listener cannot be ruled out"
        return [_item("listeners_unreadable", "ss -Htulpn", "network", ("readable", None), detail)]
    if unread:
        detail = (
            f"{len(unread)} ss line(s) could not be read, so a listener there is not compared with the baseline: "
            + "; ".join(unread[:3])
        )
        return [_item("listeners_unreadable", "ss -Htulpn", "network", (None, unread), detail)]
    return []


def _listener_drift(baseline: Mapping[str, Any], current: Mapping[str, Any]) -> list[dict[str, Any]]:
    old, new = baseline.get("listeners"), current.get("listeners")
    blind = _unreadable_listeners(baseline, current)
    if old is None or new is None:
        return blind
    items = [_item("new_listening_port", e, "network", (None, e), f"{e} listens (not in the baseline)") for e in new]
    items = [i for i in items if i["key"] not in old]
    items += [
        _item("listening_port_closed", e, "network", (e, None), f"{e} no longer listens") for e in old if e not in new
    ]
    return items + blind


def _check_drift(baseline: Mapping[str, Any], current: Mapping[str, Any]) -> list[dict[str, Any]]:
    items = []
    old, new = baseline.get("checks") or {}, current.get("checks") or {}
    for check_id in sorted(set(old) & set(new)):
        before, after = old[check_id], new[check_id]
        if before == after:
            continue
        if after in FAILING and before not in FAILING:
            items.append(
                _item("check_regressed", check_id, "checks", (before, after), f"{check_id}: {before} → {after}")
            )
        elif before in FAILING and after == "pass":
            items.append(_item("check_fixed", check_id, "checks", (before, after), f"{check_id}: {before} → {after}"))
    for check_id in sorted(set(new) - set(old)):
        if new[check_id] in FAILING:
            items.append(
                _item("check_regressed", check_id, "checks", (None, new[check_id]), f"{check_id}: new, failing")
            )
    return items


def _package_drift(baseline: Mapping[str, Any], current: Mapping[str, Any]) -> list[dict[str, Any]]:
    old, new = baseline.get("packages") or {}, current.get("packages") or {}
    return [
        _item(
            "package_changed",
            name,
            "system",
            (old.get(name), new.get(name)),
            f"{name} {old.get(name)} → {new.get(name)}",
        )
        for name in sorted(set(old) | set(new))
        if old.get(name) != new.get(name)
    ]


def compare(baseline: Mapping[str, Any], current: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every way ``current`` differs from the approved ``baseline``, one item per subject."""
    return [
        *_file_drift(baseline, current),
        *_nft_drift(baseline, current),
        *_listener_drift(baseline, current),
        *_check_drift(baseline, current),
        *_package_drift(baseline, current),
    ]


def intent_vs_reality(facts: Facts) -> list[dict[str, Any]]:
    """Exposed listeners that no role declared (the intent files), whatever the baseline says."""
    from ansible_collections.rampart.hardening.plugins.module_utils.checks.network import (  # noqa: PLC0415
        _declared_ports,
    )
    from ansible_collections.rampart.hardening.plugins.module_utils.probes.sockets import exposed  # noqa: PLC0415

    try:
        declared = _declared_ports(facts)
        listening = exposed(facts)
    except ProbeError:
        return []
    if not declared:
        return []
    return [
        _item(
            "intent_vs_reality",
            item.endpoint,
            "network",
            ("not declared", item.endpoint),
            f"{item.endpoint} "
            f"({item.process or 'unknown process'}) listens but no role's intent declares port {item.port}",
        )
        for item in listening
        if (item.proto, item.port) not in declared
    ]


# ----- dpkg attribution ------------------------------------------------------------------
VERIFY_LINE = re.compile(r"^(?P<flags>\S+)\s+(?P<conf>c?)\s*(?P<path>/.*)$")


def _owners(facts: Facts, paths: list[str]) -> dict[str, str]:
    out = facts.run(("dpkg-query", "-S", *paths))
    owners: dict[str, str] = {}
    for line in out.stdout.splitlines():
        packages, sep, path = line.partition(": ")
        if sep and path.strip() in paths and "diversion" not in packages:
            owners[path.strip()] = packages.split(",")[0].strip().split(":")[0]
    return owners


def modified_by_dpkg(text: str) -> set[str]:
    """Paths ``dpkg --verify`` reports as differing from what their package shipped."""
    paths = set()
    for line in text.splitlines():
        match = VERIFY_LINE.match(line.strip())
        if match:
            paths.add(match.group("path"))
    return paths


def attribute(facts: Facts, items: list[dict[str, Any]], baseline: Mapping[str, Any]) -> None:
    """Label changed managed files: ``package`` (dpkg says the file is as its package shipped it,
    i.e. an upgrade or reinstall wrote it), ``local`` (differs from the package), ``unowned``."""
    changed = [i for i in items if i["kind"] == "managed_file_changed" and i["after"]]
    if not changed:
        return
    owners = _owners(facts, [i["key"] for i in changed])
    packages = sorted(set(owners.values()))
    modified = modified_by_dpkg(facts.run(("dpkg", "--verify", *packages)).stdout) if packages else set()
    versions = facts.run(("dpkg-query", "-W", "-f=${Package}\\t${Version}\\n", *packages)) if packages else None
    now = dict(line.split("\t", 1) for line in (versions.stdout if versions else "").splitlines() if "\t" in line)
    before = baseline.get("packages") or {}
    for item in changed:
        owner = owners.get(item["key"])
        if owner is None:
            item["attribution"] = {"source": "unowned"}
        elif item["key"] in modified:
            item["attribution"] = {"source": "local", "package": owner, "detail": "differs from the package's copy"}
        else:
            item["attribution"] = {
                "source": "package",
                "package": owner,
                "version_before": before.get(owner),
                "version_after": now.get(owner),
                "detail": f"content is what {owner} {now.get(owner, '')} shipped (dpkg --verify): a package upgrade",
            }
