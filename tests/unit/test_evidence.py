"""DSSE envelopes, the evidence chain and the rampart-verify CLI."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner, SSlibKey

from ansible_collections.rampart.hardening.plugins.module_utils import evidence as ev
from ansible_collections.rampart.hardening.plugins.module_utils import verify

RFC8032_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(RFC8032_SEED)


def keyring(key: Ed25519PrivateKey) -> dict[str, Any]:
    return {ev.key_id(key.public_key()): key.public_key()}


def build_chain(path: Path, key: Ed25519PrivateKey, count: int = 3, boot: str = "b0") -> bytes:
    for number in range(count):

        def build(head: ev.Head, torn: dict[str, Any] | None, n: int = number) -> bytes:
            fields = ev.ChainFields(
                host="web1",
                seq=head.seq + 1,
                prev=head.digest,
                boot_id=boot,
                time=f"2026-12-01T10:{n:02d}:00+00:00",
                report_digest=ev.digest(b"report %d" % n),
                baseline_digest=None,
                torn_tail=torn,
            )
            return ev.entry_line(key, ev.TEST_RESULT_PREDICATE, {"result": "PASSED"}, fields)

        ev.append_entry(str(path), build)
    return path.read_bytes()


# ----- PAE and signatures ------------------------------------------------------------------
def test_pae_matches_the_dsse_spec_example() -> None:
    assert ev.pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_pae_counts_bytes_not_characters() -> None:
    assert ev.pae("t", "é".encode()) == b"DSSEv1 1 t 2 \xc3\xa9"
    assert ev.pae("", b"") == b"DSSEv1 0  0 "


def test_ed25519_signature_vectors(key: Ed25519PrivateKey) -> None:
    # RFC 8032 section 7.1, test 1 (empty message), then the DSSE example's PAE under the same key.
    assert key.sign(b"").hex().startswith("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8")
    envelope = ev.sign_envelope(b"hello world", key, "http://example.com/HelloWorld")
    assert base64.b64decode(envelope["signatures"][0]["sig"]).hex() == (
        "e031d7dd99f8aa904abc48fb99a13c3bdbbd6e35c49cf2cb9f25d5509d8f5c94"
        "7c0d22dc2f7403a45bdf24e8f7a41fd23c7b25e898386e8c6c31be8abee60007"
    )
    assert ev.verify_envelope(envelope, keyring(key), None) == b"hello world"


def test_envelope_with_other_key_is_unknown_and_forged_payload_is_bad(key: Ed25519PrivateKey) -> None:
    envelope = ev.sign_envelope(b"{}", key)
    other = Ed25519PrivateKey.generate()
    with pytest.raises(ev.EvidenceError) as unknown:
        ev.verify_envelope(envelope, keyring(other))
    assert unknown.value.code == ev.EXIT_UNKNOWN_KEY
    forged = dict(envelope, payload=ev.b64encode(b'{"a":1}'))
    with pytest.raises(ev.EvidenceError) as bad:
        ev.verify_envelope(forged, keyring(key))
    assert bad.value.code == ev.EXIT_BAD_SIGNATURE
    # same key id, signature made by another key
    stolen_id = dict(
        envelope,
        signatures=[dict(envelope["signatures"][0], sig=ev.sign_envelope(b"{}", other)["signatures"][0]["sig"])],
    )
    with pytest.raises(ev.EvidenceError) as swapped:
        ev.verify_envelope(stolen_id, keyring(key))
    assert swapped.value.code == ev.EXIT_BAD_SIGNATURE


def test_securesystemslib_envelope_verifies_with_ours_and_ours_with_it(key: Ed25519PrivateKey) -> None:
    signer = CryptoSigner(key)
    theirs = Envelope(payload=b'{"hello":"world"}', payload_type=ev.PAYLOAD_TYPE, signatures={})
    theirs.sign(signer)
    as_dict = theirs.to_dict()
    assert ev.verify_envelope(as_dict, {signer.public_key.keyid: key.public_key()}) == b'{"hello":"world"}'

    ours = ev.sign_envelope(b'{"n":1}', key)
    keyid = ours["signatures"][0]["keyid"]
    public = SSlibKey.from_crypto(key.public_key(), keyid=keyid)
    parsed = Envelope.from_dict(copy.deepcopy(ours))
    assert keyid in parsed.verify([public], 1)
    assert parsed.payload == b'{"n":1}'


def test_non_canonical_base64_is_rejected() -> None:
    assert ev.b64decode_strict("QQ==", "x") == b"A"
    for text in ("QR==", "QQ", "Q Q==", "QQ==\n"):
        with pytest.raises(ValueError, match="base64"):
            ev.b64decode_strict(text, "x")


# ----- the chain ---------------------------------------------------------------------------
def test_a_fresh_chain_verifies(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    data = build_chain(tmp_path / "c.jsonl", key)
    report = ev.verify_chain(data, keyring(key))
    assert [e.seq for e in report.entries] == [1, 2, 3]
    assert report.head == ev.Head(3, ev.digest(data.split(b"\n")[2]))
    statement = report.entries[0].statement
    assert statement["_type"] == ev.STATEMENT_TYPE
    assert statement["predicateType"] == ev.TEST_RESULT_PREDICATE
    assert statement["predicate"]["chain"]["prev"] == ev.GENESIS


def test_every_single_bit_flip_is_caught_in_the_right_entry(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    data = build_chain(tmp_path / "c.jsonl", key)
    ends = [index for index, byte in enumerate(data) if byte == 0x0A]
    keys = keyring(key)
    for offset in range(len(data)):
        line = next(number for number, end in enumerate(ends, start=1) if offset <= end)
        for bit in range(8):
            flipped = bytearray(data)
            flipped[offset] ^= 1 << bit
            with pytest.raises(ev.EvidenceError) as caught:
                ev.verify_chain(bytes(flipped), keys)
            assert caught.value.line == line, (offset, bit, caught.value.describe())


def test_deleting_a_middle_entry_is_a_seq_gap(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    lines = build_chain(tmp_path / "c.jsonl", key).split(b"\n")
    with pytest.raises(ev.EvidenceError) as caught:
        ev.verify_chain(lines[0] + b"\n" + lines[2] + b"\n", keyring(key))
    assert (caught.value.code, caught.value.seq, caught.value.line) == (ev.EXIT_SEQ_GAP, 3, 2)


def test_reordered_entries_and_a_foreign_history_are_caught(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    lines = build_chain(tmp_path / "c.jsonl", key).split(b"\n")
    with pytest.raises(ev.EvidenceError) as swapped:
        ev.verify_chain(lines[1] + b"\n" + lines[0] + b"\n", keyring(key))
    assert swapped.value.code == ev.EXIT_SEQ_GAP
    # a validly signed seq 2 whose prev is the digest of another seq 1
    other = build_chain(tmp_path / "other.jsonl", key, 2, boot="b1").split(b"\n")
    with pytest.raises(ev.EvidenceError) as broken:
        ev.verify_chain(lines[0] + b"\n" + other[1] + b"\n", keyring(key))
    assert (broken.value.code, broken.value.seq, broken.value.line) == (ev.EXIT_BROKEN_PREV, 2, 2)


def test_torn_tail_is_reported_and_quarantined_by_the_writer(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    path = tmp_path / "c.jsonl"
    data = build_chain(path, key, 2)
    path.write_bytes(data + b'{"payload":"tor')
    with pytest.raises(ev.EvidenceError) as caught:
        ev.verify_chain(path.read_bytes(), keyring(key))
    assert (caught.value.code, caught.value.line, caught.value.seq) == (ev.EXIT_TRUNCATED, 3, 3)
    build_chain(path, key, 1)
    report = ev.verify_chain(path.read_bytes(), keyring(key))
    torn = report.entries[-1].statement["predicate"]["chain"]["torn_tail"]
    assert torn["bytes"] == len(b'{"payload":"tor')
    assert Path(torn["kept_as"]).read_bytes() == b'{"payload":"tor'
    assert [e.seq for e in report.entries] == [1, 2, 3]


def test_verifying_after_an_acknowledged_head(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    path = tmp_path / "c.jsonl"
    data = build_chain(path, key, 3)
    lines = data.split(b"\n")
    head = ev.Head(2, ev.digest(lines[1]))
    assert ev.lines_after(str(path), 2) == lines[1] + b"\n" + lines[2] + b"\n"
    report = ev.verify_chain(ev.lines_after(str(path), 2), keyring(key), head)
    assert report.head == ev.Head(3, ev.digest(lines[2]))
    assert ev.verify_chain(lines[2] + b"\n", keyring(key), head).head.seq == 3
    with pytest.raises(ev.EvidenceError) as rewritten:
        ev.verify_chain(data, keyring(key), ev.Head(2, ev.digest(b"something else")))
    assert (rewritten.value.code, rewritten.value.seq) == (ev.EXIT_HEAD_MISMATCH, 2)
    with pytest.raises(ev.EvidenceError) as shortened:
        ev.verify_chain(lines[0] + b"\n", keyring(key), ev.Head(3, ev.digest(lines[2])))
    assert shortened.value.code == ev.EXIT_HEAD_MISMATCH
    with pytest.raises(ev.EvidenceError) as skipped:
        ev.verify_chain(lines[2] + b"\n", keyring(key), ev.Head(1, ev.digest(lines[0])))
    assert skipped.value.code == ev.EXIT_SEQ_GAP


# ----- the CLI -------------------------------------------------------------------------------
def write_key(path: Path, key: Ed25519PrivateKey) -> str:
    path.write_bytes(ev.public_pem(key.public_key()))
    return str(path)


def test_cli_exit_codes_are_distinct(
    tmp_path: Path, key: Ed25519PrivateKey, capsys: pytest.CaptureFixture[str]
) -> None:
    chain = tmp_path / "c.jsonl"
    data = build_chain(chain, key)
    pub = write_key(tmp_path / "k.pub", key)
    assert verify.main([str(chain), "--key", pub]) == ev.EXIT_OK
    lines = data.split(b"\n")

    def run(content: bytes, *extra: str, key_path: str = pub) -> int:
        target = tmp_path / "t.jsonl"
        target.write_bytes(content)
        return verify.main([str(target), "--key", key_path, "--json", *extra])

    envelope = json.loads(lines[1])
    envelope["signatures"][0]["sig"] = ev.b64encode(bytes(64))
    bad_sig = lines[0] + b"\n" + ev.canonical_json(envelope) + b"\n" + lines[2] + b"\n"
    codes = {
        run(bad_sig),
        run(lines[0] + b"\n" + lines[2] + b"\n"),
        run(data, key_path=write_key(tmp_path / "o.pub", Ed25519PrivateKey.generate())),
        run(data[:-5]),
        run(b"not json\n"),
        run(data, "--head", "3:" + ev.digest(b"x")),
    }
    assert codes == {10, 12, 13, 14, 15, 16}
    out = capsys.readouterr().out.strip().splitlines()
    first_bad = json.loads(out[1])
    assert (first_bad["seq"], first_bad["reason"]) == (2, "bad signature")
    assert verify.main([str(chain), "--key", str(tmp_path / "missing.pub")]) == ev.EXIT_USAGE


def test_export_passes_unreadable_lines_and_torn_tails_on_for_the_verifier(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    path = tmp_path / "c.jsonl"
    lines = build_chain(path, key).split(b"\n")
    broken = lines[1][:40] + b"#" + lines[1][41:]
    path.write_bytes(lines[0] + b"\n" + broken + b"\n" + lines[2] + b"\n" + b'{"tor')
    exported = ev.lines_after(str(path), 3)
    assert exported == broken + b"\n" + lines[2] + b"\n" + b'{"tor'
    with pytest.raises(ev.EvidenceError) as caught:
        ev.verify_chain(exported, keyring(key), ev.Head(2, ev.digest(lines[1])))
    assert (caught.value.line, caught.value.code) == (1, ev.EXIT_MALFORMED)
    path.write_bytes(b"\n".join(lines))
    assert ev.lines_after(str(path), 4) == b""
    assert ev.lines_after(str(path), 1) == b"\n".join(lines)
