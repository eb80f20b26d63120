"""Kernel parameters: one ``sysctl -a``, or /proc/sys reads when sysctl is missing."""

from __future__ import annotations

from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts, ProbeError
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.sysctl import (
    NOT_INTERFACES,
    interface_key,
    interface_names,
    parse_sysctl_lenient,
    unreadable_keys,
)
from ansible_collections.rampart.hardening.plugins.module_utils.probes import MISSING, lenient


def sysctls(facts: Facts) -> dict[str, str]:
    """All readable kernel parameters (sysctl -a); lines that cannot be read (``sysctl: permission
    denied on key 'x'``, garbage) are kept in ``facts.unparsed("sysctl")``, by key when named."""

    def probe() -> dict[str, str]:
        # sysctl -a exits non-zero when a few keys are unreadable; its stdout is still complete.
        out = facts.run(("sysctl", "-a"))
        if out.rc == MISSING or not out.stdout.strip():
            return {}
        values = lenient(facts, "sysctl", parse_sysctl_lenient, out.stdout, "sysctl -a output")
        facts.note_unparsed("sysctl", [*facts.unparsed("sysctl"), *unreadable_keys(out.stderr)])
        return values

    return facts.cached("sysctl", probe)


def value(facts: Facts, key: str) -> str | None:
    """One parameter: from sysctl -a, else read /proc/sys/<key with dots as slashes>.

    None means the kernel has no such parameter; when a skipped line of ``sysctl -a`` could
    have been this key and /proc/sys cannot tell either, ProbeError names that line.
    """
    return _lookup(facts, key, "/proc/sys/" + key.replace(".", "/"))


def _lookup(facts: Facts, key: str, proc_path: str) -> str | None:
    """``key`` from sysctl -a, else from its /proc/sys file; ProbeError when neither has it and a
    skipped line of sysctl -a could have been it."""
    known = sysctls(facts)
    if key in known:
        return known[key]
    text = facts.read_text(proc_path)
    if text is not None:
        return text.strip()
    doubt = [line for line in facts.unparsed("sysctl") if line.key in (key, None)]
    if doubt:
        raise ProbeError(f"cannot read {key}: {doubt[0]}")
    return None


def interfaces(facts: Facts, family: str) -> list[str] | None:
    """The interfaces that have ``net.<family>.conf.<iface>`` parameters, from sysctl -a and the
    directories of /proc/sys/net/<family>/conf. None when neither lists them: every network
    namespace has lo, so a listing without lo (sysctl -a truncated or failed, /proc/sys not
    listable) is no listing."""
    listed = set(interface_names(sysctls(facts), family))
    listed |= {path.rsplit("/", 1)[-1] for path in facts.glob(f"/proc/sys/net/{family}/conf/*")} - NOT_INTERFACES
    return sorted(listed) if "lo" in listed else None


def interface_value(facts: Facts, family: str, iface: str, param: str) -> str | None:
    """One interface's parameter: from sysctl -a, else /proc/sys/net/<family>/conf/<iface>/<param>
    (the real interface name: a dot in it is a dot in the path). None: the interface has no such
    parameter; ProbeError when a skipped line of sysctl -a could have been it."""
    return _lookup(facts, interface_key(family, iface, param), f"/proc/sys/net/{family}/conf/{iface}/{param}")
