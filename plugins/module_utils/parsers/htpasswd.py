"""Classify the password hashes of an htpasswd file (never returns the hashes themselves)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ansible_collections.rampart.hardening.plugins.module_utils.parsers import ParseError

# Prefix -> scheme name; checked in order.
PREFIXES = (
    ("$2y$", "bcrypt"),
    ("$2b$", "bcrypt"),
    ("$2a$", "bcrypt"),
    ("$argon2id$", "argon2"),
    ("$argon2i$", "argon2"),
    ("$argon2d$", "argon2"),
    ("$y$", "yescrypt"),
    ("$6$", "sha512-crypt"),
    ("$5$", "sha256-crypt"),
    ("$apr1$", "md5-apr1"),
    ("$1$", "md5-crypt"),
    ("{SHA}", "sha1"),
    ("{SSHA}", "ssha"),
)
STRONG_SCHEMES = frozenset({"bcrypt", "argon2", "yescrypt", "sha512-crypt"})
DES_CRYPT = re.compile(r"[./0-9A-Za-z]{13}")


@dataclass(frozen=True)
class HtpasswdEntry:
    user: str
    scheme: str
    line: int

    @property
    def strong(self) -> bool:
        return self.scheme in STRONG_SCHEMES


def hash_scheme(value: str) -> str:
    """The hashing scheme of one htpasswd password field."""
    for prefix, scheme in PREFIXES:
        if value.startswith(prefix):
            return scheme
    if DES_CRYPT.fullmatch(value):
        return "crypt"
    return "plain"


def parse_htpasswd(text: str) -> list[HtpasswdEntry]:
    """htpasswd content -> entries; a non-comment line without ``user:hash`` is a ParseError."""
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        user, sep, secret = stripped.partition(":")
        if not sep or not user:
            raise ParseError(f"htpasswd line {number}: expected 'user:hash'")
        # nginx accepts an optional trailing ":comment" field after the hash.
        secret = secret.split(":", 1)[0]
        entries.append(HtpasswdEntry(user, hash_scheme(secret) if secret else "empty", number))
    return entries
