"""rampart.hardening.rabbitmq_password: RabbitMQ's salted hashes, read and written as the broker does.

The fixture hash is the one RabbitMQ 3.10.8 (Debian 12) stored for ``Lab-only-password-1`` and
printed in ``rabbitmqctl export_definitions -`` (``rabbit_password_hashing_sha256``: base64 of a
4-byte salt followed by SHA-256(salt + password)).
"""

from __future__ import annotations

import base64
import hashlib

import pytest

from ansible_collections.rampart.hardening.plugins.modules import rabbitmq_password as mod


def broker_hash(password: str, salt: bytes, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm, salt + password.encode()).digest()
    return base64.b64encode(salt + digest).decode()


SALT = bytes.fromhex("a1b2c3d4")
ENTRY = {
    "name": "orders-producer",
    "password_hash": broker_hash("Lab-only-password-1", SALT),
    "hashing_algorithm": "rabbit_password_hashing_sha256",
    "tags": [],
    "limits": {},
}


def test_the_right_password_matches_its_salted_hash() -> None:
    assert mod.password_matches(ENTRY, "Lab-only-password-1")


@pytest.mark.parametrize("wrong", ["Lab-only-password-2", "", "lab-only-password-1"])
def test_another_password_does_not_match(wrong: str) -> None:
    assert not mod.password_matches(ENTRY, wrong)


@pytest.mark.parametrize(
    ("algorithm", "name"), [("sha512", "rabbit_password_hashing_sha512"), ("md5", "rabbit_password_hashing_md5")]
)
def test_other_broker_algorithms_are_verified(algorithm: str, name: str) -> None:
    entry = dict(ENTRY, password_hash=broker_hash("pw-xyz-0123456789", SALT, algorithm), hashing_algorithm=name)
    assert mod.password_matches(entry, "pw-xyz-0123456789")
    assert not mod.password_matches(entry, "pw-xyz-0123456780")


@pytest.mark.parametrize(
    "entry",
    [
        dict(ENTRY, password_hash="not base64!"),
        dict(ENTRY, password_hash=""),
        dict(ENTRY, password_hash=base64.b64encode(b"abc").decode()),
        dict(ENTRY, hashing_algorithm="rabbit_password_hashing_unknown"),
    ],
)
def test_malformed_or_unknown_hashes_never_match(entry: dict) -> None:
    """A hash the module cannot verify counts as a different password (it is replaced)."""
    assert not mod.password_matches(entry, "Lab-only-password-1")


def test_new_hash_is_salted_and_verifiable() -> None:
    first, second = mod.new_hash("Secret-0123456789"), mod.new_hash("Secret-0123456789")
    assert first != second, "every hash must get a fresh salt"
    for value in (first, second):
        assert len(base64.b64decode(value)) == 4 + 32
        assert mod.password_matches({"password_hash": value}, "Secret-0123456789")


def test_plan_creates_missing_updates_changed_and_keeps_the_rest() -> None:
    existing = {
        "orders-producer": ENTRY,
        "ops": dict(ENTRY, name="ops", tags="administrator"),
        "tagless": dict(ENTRY, name="tagless", tags=["management"]),
    }
    users = [
        {"name": "orders-producer", "password": "Lab-only-password-1", "tags": []},
        {"name": "ops", "password": "Lab-only-password-1", "tags": ["administrator"]},
        {"name": "tagless", "password": "Lab-only-password-1", "tags": []},
        {"name": "orders-consumer", "password": "x" * 20, "tags": []},
        {"name": "rotated", "password": "New-password-0123456", "tags": []},
    ]
    existing["rotated"] = dict(ENTRY, name="rotated")
    created, updated = mod.plan(existing, users)
    assert created == ["orders-consumer"]
    assert updated == ["tagless", "rotated"]


def test_definitions_are_read_after_any_banner() -> None:
    assert mod.parse_definitions('Exporting definitions...\n{"users": []}\n') == {"users": []}
    with pytest.raises(ValueError, match="no JSON"):
        mod.parse_definitions("Error: unable to perform an operation on node")
