"""Parse ``sshd -T`` (the effective sshd configuration, one ``key value`` per line)."""

from __future__ import annotations

from ansible_collections.rampart.hardening.plugins.module_utils.parsers import ParseError

# Keys every OpenSSH >= 7 prints: their absence means the text is not sshd -T output.
SENTINEL_KEYS = ("port", "permitrootlogin", "passwordauthentication")


def parse_sshd_t(text: str) -> dict[str, list[str]]:
    """``sshd -T`` -> {lowercase key: [values]} (repeated keys such as listenaddress accumulate)."""
    config: dict[str, list[str]] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        key, _unused, value = line.partition(" ")
        if not key.isalnum():
            raise ParseError(f"sshd -T line {number}: unexpected {line[:60]!r}")
        config.setdefault(key.lower(), []).append(value.strip())
    missing = [key for key in SENTINEL_KEYS if key not in config]
    if missing:
        raise ParseError(f"not sshd -T output: missing {', '.join(missing)}")
    return config


def first(config: dict[str, list[str]], key: str, default: str = "") -> str:
    values = config.get(key)
    return values[0] if values else default
