"""Signed, tamper-evident evidence: DSSE envelopes (Ed25519) in a JSON Lines hash chain.

Every drift-agent run appends one line to ``evidence.intoto.jsonl``. A line is a DSSE
envelope (https://github.com/secure-systems-lab/dsse, PAE ``DSSEv1 <len> <type> <len> <body>``)
whose payload is an in-toto Statement v1. The chain fields (``seq``, ``prev`` = digest of
the previous line, boot id, baseline digest, report digest) live in ``predicate.chain``, so
they are covered by the signature; in-toto consumers ignore fields they do not know.

Lines are written canonically (sorted keys, no spaces, strict base64), so the verifier can
reject any byte that differs from what was signed and name the entry it is in.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
except ImportError as _exc:  # callers check this first: evidence_store fails with missing_required_lib
    CRYPTOGRAPHY_IMPORT_ERROR: ImportError | None = _exc
    InvalidSignature = serialization = Ed25519PrivateKey = Ed25519PublicKey = None  # type: ignore[assignment,misc]
else:
    CRYPTOGRAPHY_IMPORT_ERROR = None

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
TEST_RESULT_PREDICATE = "https://in-toto.io/attestation/test-result/v0.1"
# Our own predicates are named by the page that specifies them: the collection's repository
# (galaxy.yml ``repository``, a unit test keeps them together) + the docs page + the section anchor.
DOCS = "https://example.invalid/rampart/hardening/-/blob/main/docs"
DRIFT_PREDICATE = f"{DOCS}/drift.md#drift-predicate-v1"
# An action taken on the host (remediation applied, refused, rolled back): docs/remediation.md.
REMEDIATION_PREDICATE = "https://example.invalid/rampart/hardening/remediation/v1"
# The URIs chains written before 0.3 carry: still read as the same predicates.
LEGACY_PREDICATES = {"https://example.invalid/rampart/hardening/drift/v1": DRIFT_PREDICATE}
# The first line of a pruned chain: the host's signed word for the last entry it dropped.
ANCHOR_PAYLOAD_TYPE = "application/vnd.rampart.chain-anchor+json"
ANCHOR_TYPE = f"{DOCS}/drift.md#chain-anchor-v1"
BASELINE_PAYLOAD_TYPE = "application/vnd.rampart.baseline+json"
GENESIS = "sha256:" + "0" * 64

# Exit codes of rampart-verify: one per way a chain can be bad.
EXIT_OK = 0
EXIT_USAGE = 2
EXIT_BAD_SIGNATURE = 10
EXIT_BROKEN_PREV = 11
EXIT_SEQ_GAP = 12
EXIT_UNKNOWN_KEY = 13
EXIT_TRUNCATED = 14
EXIT_MALFORMED = 15
EXIT_HEAD_MISMATCH = 16

REASONS = {
    EXIT_BAD_SIGNATURE: "bad signature",
    EXIT_BROKEN_PREV: "broken prev",
    EXIT_SEQ_GAP: "seq gap",
    EXIT_UNKNOWN_KEY: "unknown key",
    EXIT_TRUNCATED: "truncated tail",
    EXIT_MALFORMED: "malformed entry",
    EXIT_HEAD_MISMATCH: "acknowledged head mismatch",
}


class EvidenceError(Exception):
    """A chain or envelope is bad. ``code`` is the verifier's exit code, ``line`` 1-based."""

    def __init__(self, code: int, detail: str, line: int | None = None, seq: int | None = None) -> None:
        self.code = code
        self.detail = detail
        self.line = line
        self.seq = seq
        super().__init__(self.describe())

    @property
    def reason(self) -> str:
        return REASONS.get(self.code, "error")

    def describe(self) -> str:
        where = []
        if self.seq is not None:
            where.append(f"seq {self.seq}")
        if self.line is not None:
            where.append(f"line {self.line}")
        place = f"entry {' / '.join(where)}: " if where else ""
        return f"{place}{self.reason}: {self.detail}"


# ----- encodings -------------------------------------------------------------------------
def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: lengths are byte lengths, in ASCII decimal."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode_strict(text: Any, what: str) -> bytes:
    """Standard base64 that must re-encode to exactly ``text`` (no junk, no stray padding bits)."""
    if not isinstance(text, str):
        raise ValueError(f"{what} is not a string")
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError(f"{what} is not valid base64: {exc}") from exc
    if b64encode(data) != text:
        raise ValueError(f"{what} is not canonical base64")
    return data


def canonical_json(value: Any) -> bytes:
    """The one serialisation we sign and write: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# ----- keys ------------------------------------------------------------------------------
def key_id(public_key: Ed25519PublicKey) -> str:
    """sha256 of the raw 32-byte public key, hex."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def load_private_key(path: str) -> Ed25519PrivateKey:
    with open(path, "rb") as handle:
        key = serialization.load_pem_private_key(handle.read(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key")
    return key


def generate_private_key(path: str) -> Ed25519PrivateKey:
    """Create an Ed25519 key file 0600 (fails if it exists: keys are never overwritten)."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())
    return key


def load_keyring(pems: list[bytes]) -> dict[str, Ed25519PublicKey]:
    keys = [load_public_key(pem) for pem in pems]
    return {key_id(key): key for key in keys}


# ----- envelopes -------------------------------------------------------------------------
def sign_envelope(payload: bytes, private_key: Ed25519PrivateKey, payload_type: str = PAYLOAD_TYPE) -> dict[str, Any]:
    signature = private_key.sign(pae(payload_type, payload))
    return {
        "payload": b64encode(payload),
        "payloadType": payload_type,
        "signatures": [{"keyid": key_id(private_key.public_key()), "sig": b64encode(signature)}],
    }


def _envelope_parts(envelope: Any) -> tuple[str, bytes, list[dict[str, Any]]]:
    if not isinstance(envelope, dict) or set(envelope) != {"payload", "payloadType", "signatures"}:
        raise EvidenceError(EXIT_MALFORMED, "not a DSSE envelope (payload, payloadType, signatures)")
    payload_type = envelope["payloadType"]
    signatures = envelope["signatures"]
    if not isinstance(payload_type, str) or not isinstance(signatures, list) or not signatures:
        raise EvidenceError(EXIT_MALFORMED, "payloadType must be a string and signatures a non-empty list")
    try:
        payload = b64decode_strict(envelope["payload"], "payload")
    except ValueError as exc:
        raise EvidenceError(EXIT_MALFORMED, str(exc)) from exc
    for item in signatures:
        if not isinstance(item, dict) or not set(item) <= {"keyid", "sig"} or not isinstance(item.get("keyid"), str):
            raise EvidenceError(EXIT_MALFORMED, "a signature must be {keyid, sig}")
    return payload_type, payload, signatures


def verify_envelope(
    envelope: Any, keys: Mapping[str, Ed25519PublicKey], payload_type: str | None = PAYLOAD_TYPE
) -> bytes:
    """The payload, once every signature by a known key verifies (and at least one does)."""
    kind, payload, signatures = _envelope_parts(envelope)
    if payload_type is not None and kind != payload_type:
        raise EvidenceError(EXIT_MALFORMED, f"payloadType {kind!r}, expected {payload_type!r}")
    message = pae(kind, payload)
    known = [item for item in signatures if item["keyid"] in keys]
    if not known:
        ids = ", ".join(item["keyid"][:16] for item in signatures)
        raise EvidenceError(EXIT_UNKNOWN_KEY, f"signed by key id {ids}, not a pinned key")
    for item in known:
        try:
            keys[item["keyid"]].verify(b64decode_strict(item.get("sig"), "sig"), message)
        except (InvalidSignature, ValueError) as exc:
            raise EvidenceError(EXIT_BAD_SIGNATURE, f"signature by key {item['keyid'][:16]} does not verify") from exc
    return payload


# ----- statements ------------------------------------------------------------------------
@dataclass
class ChainFields:
    """What links an entry to its neighbours and to what it judged."""

    host: str
    seq: int
    prev: str
    boot_id: str
    time: str
    report_digest: str
    baseline_digest: str | None = None
    torn_tail: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "host": self.host,
            "seq": self.seq,
            "prev": self.prev,
            "boot_id": self.boot_id,
            "time": self.time,
            "report_digest": self.report_digest,
            "baseline_digest": self.baseline_digest,
        }
        if self.torn_tail:
            data["torn_tail"] = self.torn_tail
        return data


def statement(predicate_type: str, predicate: dict[str, Any], chain: ChainFields) -> dict[str, Any]:
    """An in-toto Statement v1 about the host's audit report (subject digest = report digest)."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": f"rampart-report:{chain.host}", "digest": {"sha256": chain.report_digest[7:]}}],
        "predicateType": predicate_type,
        "predicate": {**predicate, "chain": chain.to_dict()},
    }


def entry_line(
    private_key: Ed25519PrivateKey, predicate_type: str, predicate: dict[str, Any], chain: ChainFields
) -> bytes:
    """One chain line: the canonical DSSE envelope over the canonical statement."""
    payload = canonical_json(statement(predicate_type, predicate, chain))
    return canonical_json(sign_envelope(payload, private_key))


def sign_baseline(
    snapshot: dict[str, Any], private_key: Ed25519PrivateKey, approved_by: str, approved_at: str
) -> dict[str, Any]:
    """The controller's approval of a snapshot: a DSSE envelope the agent checks before using it."""
    approval = {"snapshot": snapshot, "approved_by": approved_by, "approved_at": approved_at}
    return sign_envelope(canonical_json(approval), private_key, BASELINE_PAYLOAD_TYPE)


def chain_fields_of(payload: bytes) -> dict[str, Any]:
    """predicate.chain of a statement payload, type-checked."""
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise EvidenceError(EXIT_MALFORMED, f"payload is not JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("_type") != STATEMENT_TYPE:
        raise EvidenceError(EXIT_MALFORMED, "payload is not an in-toto Statement v1")
    chain = (data.get("predicate") or {}).get("chain") if isinstance(data.get("predicate"), dict) else None
    if not isinstance(chain, dict):
        raise EvidenceError(EXIT_MALFORMED, "statement has no predicate.chain")
    seq, prev = chain.get("seq"), chain.get("prev")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1 or not isinstance(prev, str):
        raise EvidenceError(EXIT_MALFORMED, "predicate.chain needs an integer seq >= 1 and a prev digest")
    return data


# ----- verification ----------------------------------------------------------------------
@dataclass
class Entry:
    line: int
    seq: int
    digest: str
    statement: dict[str, Any]
    raw: bytes


@dataclass
class Head:
    seq: int
    digest: str

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "digest": self.digest}

    @classmethod
    def parse(cls, raw: Any) -> Head:
        if isinstance(raw, str):
            seq_text, _unused, dig = raw.partition(":")
            raw = {"seq": seq_text, "digest": dig}
        if not isinstance(raw, dict):
            raise ValueError("a head is {seq, digest} or 'SEQ:sha256:HEX'")
        seq = int(raw.get("seq"))  # type: ignore[arg-type]
        dig = str(raw.get("digest") or "")
        if seq < 0 or not dig.startswith("sha256:") or len(dig) != 71:
            raise ValueError(f"bad head {raw!r}")
        return cls(seq, dig)


@dataclass
class ChainReport:
    entries: list[Entry] = field(default_factory=list)
    head: Head | None = None
    pruned: Head | None = None  # a pruned chain: the last entry dropped, as its signed anchor says


def parse_line(raw: bytes, number: int, keys: Mapping[str, Ed25519PublicKey]) -> Entry:
    """Verify one complete line: canonical JSON, DSSE signature, statement shape."""
    try:
        envelope = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise EvidenceError(EXIT_MALFORMED, f"not JSON: {exc}", line=number) from exc
    try:
        if canonical_json(envelope) != raw:
            raise EvidenceError(EXIT_MALFORMED, "line is not in canonical form (bytes were altered)")
        payload = verify_envelope(envelope, keys)
        data = chain_fields_of(payload)
    except EvidenceError as exc:
        exc.line = number
        raise
    chain = data["predicate"]["chain"]
    return Entry(number, chain["seq"], digest(raw), data, raw)


def _link(entry: Entry, previous: Entry | None, anchor: Head | None) -> None:
    chain = entry.statement["predicate"]["chain"]
    if previous is not None:
        want_seq, want_prev = previous.seq + 1, previous.digest
    elif anchor is not None and entry.seq == anchor.seq + 1:
        want_seq, want_prev = entry.seq, anchor.digest
    elif anchor is not None and entry.seq <= anchor.seq:
        want_seq, want_prev = entry.seq, chain["prev"]  # history before the head: checked below
    elif anchor is not None:
        want_seq, want_prev = anchor.seq + 1, anchor.digest
    else:
        want_seq, want_prev = 1, GENESIS
    if entry.seq != want_seq:
        raise EvidenceError(EXIT_SEQ_GAP, f"seq {entry.seq} where {want_seq} was expected", entry.line, entry.seq)
    if chain["prev"] != want_prev:
        raise EvidenceError(
            EXIT_BROKEN_PREV, f"prev {chain['prev'][:23]}… is not the digest of the entry before", entry.line, entry.seq
        )
    if anchor is not None and entry.seq == anchor.seq and entry.digest != anchor.digest:
        raise EvidenceError(
            EXIT_HEAD_MISMATCH,
            f"differs from the acknowledged entry {anchor.digest[:23]}…: acknowledged history was rewritten",
            entry.line,
            entry.seq,
        )


def verify_chain(
    data: bytes, keys: Mapping[str, Ed25519PublicKey], anchor: Head | None = None, allow_torn: bool = False
) -> ChainReport:
    """Verify a whole chain (or the part after ``anchor``); raise EvidenceError at the first bad entry.

    A pruned chain starts with a signed anchor line (:func:`prune_chain`): its first entry must
    link to the anchor, and an anchor past the acknowledged head ``anchor`` is a gap (entries
    nobody collected were dropped).
    """
    report = ChainReport()
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the data ends with a newline
    previous: Entry | None = None
    first = 1
    if lines and is_anchor(lines[0]):
        report.pruned = _check_anchor(read_anchor(lines[0], keys), anchor)
        previous = Entry(1, report.pruned.seq, report.pruned.digest, {}, lines[0])
        first = 2
    for number, raw in enumerate(lines[first - 1 :], start=first):
        try:
            entry = parse_line(raw, number, keys)
        except EvidenceError as exc:
            if exc.seq is None:  # name the entry by the position it holds in the chain
                exc.seq = previous.seq + 1 if previous else (anchor.seq + 1 if anchor else number)
            raise
        _link(entry, previous, anchor)
        report.entries.append(entry)
        previous = entry
    if tail and not allow_torn:
        after = previous.seq if previous else (anchor.seq if anchor else 0)
        raise EvidenceError(
            EXIT_TRUNCATED,
            f"{len(tail)} bytes after the last complete entry (seq {after}) without a newline: a torn write",
            line=len(lines) + 1,
            seq=after + 1,
        )
    if anchor is not None and anchor.seq > 0:
        covered = any(e.seq == anchor.seq for e in report.entries) or bool(report.pruned and report.pruned == anchor)
        if not covered and (not report.entries or report.entries[-1].seq < anchor.seq):
            raise EvidenceError(
                EXIT_HEAD_MISMATCH,
                f"the chain ends before the acknowledged head seq {anchor.seq}: entries were removed",
                seq=anchor.seq,
            )
    if previous is not None:
        report.head = Head(previous.seq, previous.digest)
    elif anchor is not None:
        report.head = anchor
    return report


def _check_anchor(pruned: Head, acknowledged: Head | None) -> Head:
    """A verified pruning anchor against the controller's acknowledged head (if it has one)."""
    if acknowledged is not None and pruned.seq > acknowledged.seq:
        raise EvidenceError(
            EXIT_SEQ_GAP,
            f"the chain was pruned up to seq {pruned.seq}, past the acknowledged head seq {acknowledged.seq}: "
            f"entries {acknowledged.seq + 1}..{pruned.seq} were dropped before anyone collected them",
            line=1,
            seq=acknowledged.seq + 1,
        )
    if acknowledged is not None and pruned.seq == acknowledged.seq and pruned.digest != acknowledged.digest:
        raise EvidenceError(
            EXIT_HEAD_MISMATCH,
            f"the anchor names seq {pruned.seq} as {pruned.digest[:23]}…, not the acknowledged entry",
            line=1,
            seq=pruned.seq,
        )
    return pruned


# ----- the chain file on the host --------------------------------------------------------
@contextmanager
def locked(path: str) -> Iterator[None]:
    """An exclusive flock on ``path`` (a lock file next to the chain)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def write_atomic(path: str, data: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` atomically: a per-process temporary file, fsynced, renamed."""
    tmp = f"{path}.tmp-{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _fsync_dir(path: str) -> None:
    fd = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_tail(path: str) -> tuple[Head, bytes]:
    """(head of the last complete line, torn bytes after it). An empty chain has head seq 0."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return Head(0, GENESIS), b""
    cut = data.rfind(b"\n")
    complete, torn = data[: cut + 1], data[cut + 1 :]
    if not complete:
        return Head(0, GENESIS), torn
    last = complete[:-1].rsplit(b"\n", 1)[-1]
    seq = claimed_seq(last)
    if seq is None:
        raise EvidenceError(
            EXIT_MALFORMED, f"{path}: the last entry is unreadable; nothing is appended to a broken chain"
        )
    return Head(seq, digest(last)), torn


def append_entry(path: str, build: Callable[[Head, dict[str, Any] | None], bytes]) -> tuple[Head, bytes]:
    """Under a lock: quarantine a torn tail, then append ``build(head, torn)`` + newline and fsync.

    A torn last line (a crash mid-write) is moved to ``<path>.torn-<seq>`` and its size and
    digest go into the next signed entry (``torn``), so it is reported, never silently dropped.
    """
    with locked(path + ".lock"):
        head, torn = read_tail(path)
        torn_info = None
        if torn:
            keep = f"{path}.torn-{head.seq + 1}"
            with open(keep, "wb") as handle:
                handle.write(torn)
                os.fsync(handle.fileno())
            torn_info = {"bytes": len(torn), "digest": digest(torn), "kept_as": keep}
            with open(path, "r+b") as handle:
                handle.truncate(os.path.getsize(path) - len(torn))
                os.fsync(handle.fileno())
        line = build(head, torn_info)
        if b"\n" in line:
            raise ValueError("an entry must be one line")
        created = not os.path.exists(path)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            _fsync_dir(path)
        return Head(head.seq + 1, digest(line)), line


def _claimed(raw: bytes, *path: str) -> Any:
    """A field of a line's payload (unverified), or None when the line cannot be read that far."""
    try:
        value = json.loads(base64.b64decode(json.loads(raw)["payload"], validate=True))
        for name in path:
            value = value[name]
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    return value


def claimed_seq(raw: bytes) -> int | None:
    """The seq a line claims (unverified), or None when it cannot be read."""
    try:
        return int(_claimed(raw, "predicate", "chain", "seq"))
    except (ValueError, TypeError):
        return None


def lines_after(path: str, seq: int) -> bytes:
    """The chain from the first line with a sequence number >= ``seq`` (the anchor included) to
    the end, byte for byte: an unreadable line or a torn tail on the way is passed on as it is,
    so the verifier, not the transport, judges it."""
    with open(path, "rb") as handle:
        data = handle.read()
    offset = 0
    for raw in data.split(b"\n"):
        if is_anchor(raw) and _anchor_seq(raw) < seq:  # pruned before what is asked: not needed to link
            offset += len(raw) + 1
            continue
        claimed = claimed_seq(raw)
        if claimed is None or claimed >= seq:
            return data[offset:]
        offset += len(raw) + 1
    return b""


def predicate_type(statement_data: Mapping[str, Any]) -> str:
    """A statement's predicateType, with the URIs of older chains read as today's."""
    kind = str(statement_data.get("predicateType") or "")
    return LEGACY_PREDICATES.get(kind, kind)


# ----- pruning: a signed anchor stands for the entries dropped before it ------------------
def anchor_line(private_key: Ed25519PrivateKey, host: str, pruned: Head, acknowledged: Head, time: str) -> bytes:
    """The first line of a pruned chain: seq and digest of the last dropped entry, signed by the host."""
    payload = {
        "_type": ANCHOR_TYPE,
        "host": host,
        "seq": pruned.seq,
        "digest": pruned.digest,
        "acknowledged": acknowledged.to_dict(),
        "pruned_at": time,
    }
    return canonical_json(sign_envelope(canonical_json(payload), private_key, ANCHOR_PAYLOAD_TYPE))


def is_anchor(raw: bytes) -> bool:
    """True when a line claims to be a pruning anchor (only its signature makes it one)."""
    try:
        return json.loads(raw).get("payloadType") == ANCHOR_PAYLOAD_TYPE
    except (ValueError, AttributeError):
        return False


def read_anchor(raw: bytes, keys: Mapping[str, Ed25519PublicKey]) -> Head:
    """The Head a verified anchor line stands for (EvidenceError, line 1, when it is forged or bent)."""
    try:
        envelope = json.loads(raw.decode("utf-8"))
        if canonical_json(envelope) != raw:
            raise EvidenceError(EXIT_MALFORMED, "anchor is not in canonical form (bytes were altered)")
        data = json.loads(verify_envelope(envelope, keys, ANCHOR_PAYLOAD_TYPE))
        if not isinstance(data, dict) or data.get("_type") != ANCHOR_TYPE:
            raise EvidenceError(EXIT_MALFORMED, "anchor payload is not a chain anchor v1")
        return Head.parse({"seq": data.get("seq"), "digest": data.get("digest")})
    except EvidenceError as exc:
        exc.line = 1
        raise
    except (UnicodeDecodeError, ValueError, TypeError) as exc:
        raise EvidenceError(EXIT_MALFORMED, f"unreadable anchor: {exc}", line=1) from exc


def _prunable(lines: list[bytes], last_seq: int, cutoff: str) -> int:
    """How many leading entries may go: seq <= ``last_seq`` and written before ``cutoff``."""
    count = 0
    for raw in lines:
        seq = claimed_seq(raw)
        if seq is None or seq > last_seq:
            break
        when = _claimed(raw, "predicate", "chain", "time")
        if not isinstance(when, str) or when >= cutoff:
            break
        count += 1
    return count


def _anchor_seq(raw: bytes) -> int:
    """The seq an anchor line claims (unverified; -1 when unreadable, so the line is passed on)."""
    seq = _claimed(raw, "seq")
    return seq if isinstance(seq, int) else -1


def prune_chain(
    path: str,
    *,
    private_key: Ed25519PrivateKey,
    host: str,
    acknowledged: Head | None,
    cutoff: str,
    time: str,
    up_to: int | None = None,
) -> int:
    """Drop the leading entries the controller acknowledged that are older than ``cutoff`` (an ISO
    time); the chain then starts with a signed anchor naming the last dropped entry. Returns how
    many entries went. Nothing is dropped without an acknowledged head whose digest matches the
    entry at that seq, and the newest entry always stays (it is the head the next run links to);
    ``up_to`` lowers the limit further (the last seq a push endpoint confirmed).
    """
    if acknowledged is None or acknowledged.seq < 1:
        return 0
    with locked(path + ".lock"):
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            return 0
        lines = data.split(b"\n")
        tail = lines.pop()
        old_anchor = lines[0] if lines and is_anchor(lines[0]) else None
        entries = lines[1:] if old_anchor is not None else lines
        acked = [raw for raw in entries if claimed_seq(raw) == acknowledged.seq]
        if not acked or digest(acked[0]) != acknowledged.digest:
            return 0  # the acknowledged head is not (or differently) here: prune nothing, let verify say why
        last_seq = acknowledged.seq if up_to is None else min(acknowledged.seq, up_to)
        count = min(_prunable(entries, last_seq, cutoff), len(entries) - 1)
        if count < 1:
            return 0
        last = entries[count - 1]
        pruned = Head(claimed_seq(last) or 0, digest(last))
        anchor = anchor_line(private_key, host, pruned, acknowledged, time)
        write_atomic(path, b"\n".join([anchor, *entries[count:]]) + b"\n" + tail)
        _fsync_dir(path)
        return count
