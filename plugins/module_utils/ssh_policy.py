"""The ssh-audit hardening guide as data, and the judges that SSH-01..03 share.

Config side: the algorithm lists of ``sshd -T``, the RSA host key, /etc/ssh/moduli and the
settings that Match blocks override (``sshd -T`` alone prints the global values only).
Live side: the JSON of ``ssh-audit -j`` (and its policy mode ``-P``) run from the controller.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.parsers import ParseError

# ssh-audit "Hardened Debian 12 (version 3)" / "Debian 13 (version 1)": the algorithms the guides allow.
POST_QUANTUM_KEX = ("mlkem768x25519-sha256", "sntrup761x25519-sha512", "sntrup761x25519-sha512@openssh.com")
GUIDE_KEX = (
    *POST_QUANTUM_KEX,
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group-exchange-sha256",
)
GUIDE_CIPHERS = (
    "chacha20-poly1305@openssh.com",
    "aes256-gcm@openssh.com",
    "aes256-ctr",
    "aes192-ctr",
    "aes128-gcm@openssh.com",
    "aes128-ctr",
)
GUIDE_MACS = ("hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "umac-128-etm@openssh.com")
GUIDE_HOST_KEYS = (
    "sk-ssh-ed25519-cert-v01@openssh.com",
    "ssh-ed25519-cert-v01@openssh.com",
    "rsa-sha2-512-cert-v01@openssh.com",
    "rsa-sha2-256-cert-v01@openssh.com",
    "sk-ssh-ed25519@openssh.com",
    "ssh-ed25519",
    "rsa-sha2-512",
    "rsa-sha2-256",
)
GUIDE = {
    "kexalgorithms": GUIDE_KEX,
    "ciphers": GUIDE_CIPHERS,
    "macs": GUIDE_MACS,
    "hostkeyalgorithms": GUIDE_HOST_KEYS,
}
MIN_RSA_BITS = 3072
MIN_MODULUS_BITS = 3072
GEX = "diffie-hellman-group-exchange-sha256"
DEFAULT_POLICY = "Hardened Debian 12 (version 3)"


def algorithm_problems(config: Mapping[str, list[str]]) -> tuple[list[str], list[str], list[str]]:
    """(problems, minor, seen) of the algorithm lists in ``sshd -T`` against the guide."""
    problems: list[str] = []
    minor: list[str] = []
    seen: list[str] = []
    for key, allowed in GUIDE.items():
        names = [n for line in config.get(key, []) for n in line.split(",") if n]
        if not names:
            problems.append(f"{key} is not in the sshd -T output")
            continue
        seen.append(f"{key} {','.join(names)}")
        outside = [n for n in names if n not in allowed]
        if outside:
            problems.append(f"{key} allows {', '.join(outside)} (not in the ssh-audit hardening guide)")
    kex = [n for line in config.get("kexalgorithms", []) for n in line.split(",") if n]
    if kex and any(k in POST_QUANTUM_KEX for k in kex) and kex[0] not in POST_QUANTUM_KEX:
        minor.append(f"post-quantum key exchange offered but not preferred (first: {kex[0]})")
    return problems, minor, seen


def rsa_bits(public_key_line: str) -> int | None:
    """Modulus size of an ``ssh-rsa`` public key line, or None when it is not one."""
    words = public_key_line.split()
    if len(words) < 2 or words[0] != "ssh-rsa":
        return None
    try:
        blob = base64.b64decode(words[1], validate=True)
        fields = []
        offset = 0
        for _unused in range(3):  # key type, e, n (RFC 4253 6.6)
            (length,) = struct.unpack(">I", blob[offset : offset + 4])
            fields.append(blob[offset + 4 : offset + 4 + length])
            offset += 4 + length
    except (binascii.Error, struct.error, ValueError):
        return None
    if fields[0] != b"ssh-rsa" or not fields[2]:
        return None
    return int.from_bytes(fields[2], "big").bit_length()


def small_moduli(text: str, minimum: int = MIN_MODULUS_BITS) -> int:
    """Number of /etc/ssh/moduli groups smaller than ``minimum`` bits (the file stores size - 1)."""
    count = 0
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 7 and not line.lstrip().startswith("#") and fields[4].isdigit():
            count += int(fields[4]) < minimum - 1
    return count


# ----- Match blocks ------------------------------------------------------------------------

_MATCH = re.compile(r"^\s*match\s+(.*)$", re.IGNORECASE)
_INCLUDE = re.compile(r"^\s*include\s+(.*)$", re.IGNORECASE)
# "Keyword value" or "Keyword=value" (sshd_config(5)).
_SETTING = re.compile(r"^([A-Za-z][A-Za-z0-9]*)(?:\s*=\s*|\s+)(.*)$")


@dataclass(frozen=True)
class Override:
    """One setting inside a Match block: where it is, for whom, and what it sets."""

    source: str
    criteria: str
    key: str
    value: str

    def evidence(self) -> str:
        return f"{self.source}: Match {self.criteria}: {self.key} {self.value}"


def includes(text: str) -> list[str]:
    """The glob patterns of the Include lines of one config file."""
    return [word for line in text.splitlines() if (m := _INCLUDE.match(line)) for word in m.group(1).split()]


def _unquote(value: str) -> str:
    """sshd splits arguments like a shell (argv_split): ``"yes"`` is ``yes``."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def scoped_settings(text: str) -> list[tuple[str | None, str, str]]:
    """(Match criteria, or None at global scope; lower-case keyword; value) of every setting of one
    sshd config file, ``include`` lines too, in file order. A Match block ends at the next Match or
    at the file's end: sshd restores the including file's Match state after an Include (servconf.c),
    so a Match in a drop-in never reaches past the drop-in. ``Match all`` is a block too: for every
    connection sshd copies the settings of the matching blocks over the globals, while ``sshd -T``
    without -C shows the first global value."""
    out: list[tuple[str | None, str, str]] = []
    criteria: str | None = None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _MATCH.match(line)
        if match:
            criteria = " ".join(match.group(1).split())
            continue
        setting = _SETTING.match(line)
        if setting:
            out.append((criteria, setting.group(1).lower(), _unquote(setting.group(2).strip())))
    return out


def match_overrides(text: str, source: str) -> list[Override]:
    """Settings inside Match blocks of one sshd config file (a block ends at the next Match or the file's end)."""
    return [
        Override(source, criteria, key, value)
        for criteria, key, value in scoped_settings(text)
        if criteria is not None and key != "include"
    ]


def weakening(overrides: Iterable[Override], wanted: Mapping[str, Iterable[str]]) -> list[str]:
    """Evidence of every Match override of a ``wanted`` key whose value is not allowed."""
    return [
        o.evidence() for o in overrides if o.key in wanted and o.value.lower() not in {v.lower() for v in wanted[o.key]}
    ]


# ----- ssh-audit (live) ---------------------------------------------------------------------

SECTIONS = (("kex", "key exchange"), ("key", "host key"), ("enc", "cipher"), ("mac", "MAC"))


def parse_scan(text: str) -> dict[str, Any]:
    """``ssh-audit -j`` output -> the report, or ParseError when it is not one."""
    try:
        report = json.loads(text)
    except ValueError as exc:
        raise ParseError(f"ssh-audit output is not JSON: {exc}") from exc
    if not isinstance(report, dict) or not all(isinstance(report.get(k), list) for k, _unused in SECTIONS):
        raise ParseError("ssh-audit output has no kex/key/enc/mac lists")
    if not report["kex"]:
        raise ParseError("ssh-audit saw no key exchange (the server did not answer as SSH)")
    return report


def failed_algorithms(report: Mapping[str, Any]) -> list[str]:
    """Every algorithm ssh-audit marks with a failure note, as 'kind name: reason'."""
    out = []
    for section, label in SECTIONS:
        for entry in report.get(section) or []:
            if not isinstance(entry, dict):
                raise ParseError(f"ssh-audit {section} entry is not an object")
            notes = entry.get("notes") or {}
            for reason in notes.get("fail") or []:
                size = f" ({entry['keysize']} bits)" if entry.get("keysize") else ""
                out.append(f"{label} {entry.get('algorithm', '?')}{size}: {reason}")
    return out


def policy_verdict(text: str) -> tuple[bool, list[str]]:
    """``ssh-audit -P <policy> -j`` output -> (passed, what differs)."""
    try:
        verdict = json.loads(text)
    except ValueError as exc:
        raise ParseError(f"ssh-audit policy output is not JSON: {exc}") from exc
    if not isinstance(verdict, dict) or not isinstance(verdict.get("passed"), bool):
        raise ParseError("ssh-audit policy output has no 'passed' verdict")
    errors = []
    for error in verdict.get("errors") or []:
        if isinstance(error, dict):
            field = error.get("mismatched_field", "?")
            errors.append(f"{field}: expected {error.get('expected_required')}, got {error.get('actual')}")
    return verdict["passed"], errors
