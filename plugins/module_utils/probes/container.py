"""Is the audit running inside a container? (``systemd-detect-virt -c``, then runtime markers).

Kernel-wide settings (kernel.*, fs.* sysctls, the clock) belong to the container host;
checks of those report ``not_applicable`` inside a container instead of a failure the
operator cannot fix from there. Network sysctls live in the container's own network
namespace and are still checked.
"""

from __future__ import annotations

from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts
from ansible_collections.rampart.hardening.plugins.module_utils.model import Result, not_applicable
from ansible_collections.rampart.hardening.plugins.module_utils.probes import MISSING

HOST_OWNS = "inside a container; the container host owns this setting"
MARKERS = (("/run/.containerenv", "podman"), ("/.dockerenv", "docker"))


def _from_markers(facts: Facts) -> str | None:
    text = facts.read_text("/run/systemd/container")
    if text and text.strip():
        return text.strip()
    for path, kind in MARKERS:
        if facts.stat(path) is not None:
            return kind
    environ = facts.read_text("/proc/1/environ") or ""
    for entry in environ.split("\0"):
        if entry.startswith("container=") and entry.partition("=")[2]:
            return entry.partition("=")[2]
    return None


def container(facts: Facts) -> str | None:
    """The container technology the audit runs in ("podman", "docker", "lxc"...), None outside one."""

    def probe() -> str | None:
        out = facts.run(("systemd-detect-virt", "--container"))
        answer = out.stdout.strip()
        if out.rc == 0 and answer and answer != "none":
            return answer
        if out.rc != MISSING and answer == "none":
            return None
        return _from_markers(facts)

    return facts.cached("container", probe)


def host_owned(facts: Facts, what: str) -> Result | None:
    """``not_applicable`` for a kernel-wide ``what`` inside a container, else None (judge it)."""
    kind = container(facts)
    if kind is None:
        return None
    return not_applicable(f"{HOST_OWNS} ({what})", [f"systemd-detect-virt -c: {kind}", HOST_OWNS])
