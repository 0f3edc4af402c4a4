"""Checking a ledger's signed checkpoint and an invoice's inclusion proof without the database.

Standard library and `cryptography` only, and nothing else of fapiao: an auditor can copy this one
file and run `python proof.py proof.json` (or `python -m fapiao.proof proof.json`).

The audit log is a hash chain of events. A checkpoint signs, with the ledger's Ed25519 key, the
number of events `seq`, the hash of event `seq` (`head`) and the Merkle tree head (`root`) over the
event hashes 1..seq, built as RFC 9162 (Certificate Transparency) builds it: leaf = SHA-256(0x00 ‖
event hash), node = SHA-256(0x01 ‖ left ‖ right). A proof carries the checkpoint and, for each event
about one invoice, the event's fields and its audit path: the verifier recomputes the event hash
from the fields and climbs the path to the signed root, so the proof is logarithmic in the ledger's
size. The first event carries the invoice's canonical JSON (`doc`), so the record itself is proven.

Given a checkpoint alone (`fapiao audit checkpoint --out`, or the JSON line of the daily
`audit.checkpoint` message), it checks the checkpoint's form and signature (pin the key with
`--key=`); whether the ledger still holds it is `fapiao audit verify --checkpoint FILE`.

Exit 0 when everything holds, 1 when anything fails, 2 for a file that is not a proof.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from collections.abc import Iterable
from typing import Any

FORMAT = "fapiao-proof/1"
CHECKPOINT_FORMAT = "fapiao-checkpoint/1"


def event_hash(prev_hash: str, fields: list[Any]) -> str:
    """sha256(prev ‖ compact JSON [seq, ts, actor, tenant_id, action, entity, entity_id] ‖ LF ‖
    payload): the ledger's own event hash (ledger/store.py), payload hashed as stored."""
    digest = hashlib.sha256(prev_hash.encode())
    digest.update(json.dumps(fields[:-1], ensure_ascii=False, separators=(",", ":")).encode())
    digest.update(b"\n")
    digest.update(fields[-1].encode())
    return digest.hexdigest()


def leaf_hash(event_hex: str) -> bytes:
    return hashlib.sha256(b"\x00" + bytes.fromhex(event_hex)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class TreeBuilder:
    """The Merkle tree head over leaves added one at a time, in O(log n) memory: perfect subtrees
    of decreasing size, merged as equal sizes meet, folded from the right at the end (RFC 9162)."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []  # (size, subtree hash)
        self.size = 0

    def add(self, event_hex: str) -> None:
        size, node = 1, leaf_hash(event_hex)
        while self._stack and self._stack[-1][0] == size:
            left_size, left = self._stack.pop()
            size, node = left_size + size, node_hash(left, node)
        self._stack.append((size, node))
        self.size += 1

    def root(self) -> str:
        if not self._stack:
            return hashlib.sha256(b"").hexdigest()
        node = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            node = node_hash(left, node)
        return node.hex()


def tree_root(event_hashes: Iterable[str]) -> str:
    builder = TreeBuilder()
    for h in event_hashes:
        builder.add(h)
    return builder.root()


class MerkleTree:
    """Every aligned perfect subtree of the leaves, level by level (2n hashes), so that each audit
    path costs O(log² n) instead of rehashing the tree: proofs for a whole year's invoices."""

    def __init__(self, leaves: list[bytes]) -> None:
        self.size = len(leaves)
        self.levels = [leaves]
        while len(self.levels[-1]) > 1:
            below = self.levels[-1]
            self.levels.append(
                [node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
            )

    def subtree(self, lo: int, hi: int) -> bytes:
        """MTH of leaves[lo:hi] for the ranges RFC 9162's split produces."""
        n = hi - lo
        if n & (n - 1) == 0 and lo % n == 0:  # an aligned perfect subtree: stored
            return self.levels[n.bit_length() - 1][lo // n]
        k = _split(n)
        return node_hash(self.subtree(lo, lo + k), self.subtree(lo + k, hi))

    def root(self) -> str:
        return self.subtree(0, self.size).hex() if self.size else hashlib.sha256(b"").hexdigest()

    def path(self, index: int) -> list[str]:
        """RFC 9162 PATH(index, leaves): the sibling hashes from the leaf up."""
        out: list[bytes] = []
        lo, hi = 0, self.size
        while hi - lo > 1:
            k = _split(hi - lo)
            if index < lo + k:
                out.append(self.subtree(lo + k, hi))
                hi = lo + k
            else:
                out.append(self.subtree(lo, lo + k))
                lo = lo + k
        return [p.hex() for p in reversed(out)]


def audit_path(leaves: list[bytes], index: int) -> list[str]:
    return MerkleTree(leaves).path(index)


def _split(n: int) -> int:
    """The largest power of two smaller than n."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def included(event_hex: str, index: int, size: int, path: list[str], root: str) -> bool:
    """RFC 9162 §2.1.3.2: does the leaf at `index` of a tree of `size` leaves climb to `root`?"""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf_hash(event_hex)
    for sibling_hex in path:
        sibling = bytes.fromhex(sibling_hex)
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(sibling, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, sibling)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r.hex() == root


def signed_bytes(checkpoint: dict[str, Any]) -> bytes:
    """What the signature covers: the checkpoint without its signature, keys sorted, compact."""
    body = {k: v for k, v in checkpoint.items() if k != "signature"}
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def signature_ok(checkpoint: dict[str, Any], public_key_b64: str | None = None) -> bool:
    """The checkpoint's signature under its own public key, or under the key given (an auditor
    should pin the ledger's key: anyone can sign a checkpoint with a key of their own)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key_b64 = public_key_b64 or checkpoint.get("public_key", "")
    if public_key_b64 and public_key_b64 != checkpoint.get("public_key"):
        return False
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(key_b64))
        key.verify(base64.b64decode(checkpoint["signature"]), signed_bytes(checkpoint))
    except (InvalidSignature, ValueError, KeyError, TypeError):
        return False
    return True


def key_id(public_key_b64: str) -> str:
    """A short name for a signing key: the first 16 hex digits of SHA-256 of the raw key."""
    try:
        raw = base64.b64decode(public_key_b64, validate=True)
    except ValueError:
        return "?"
    return hashlib.sha256(raw).hexdigest()[:16]


def check_checkpoint(checkpoint: dict[str, Any], public_key_b64: str | None = None) -> list[str]:
    """A checkpoint alone (say, received by mail): its form and its signature. Whether the ledger
    still holds it is `fapiao audit verify --checkpoint FILE`, which needs the database."""
    if checkpoint.get("format") != CHECKPOINT_FORMAT:
        return [f"不是检查点 / not a {CHECKPOINT_FORMAT} document"]
    missing = [k for k in ("seq", "head", "root", "time", "ledger_id") if k not in checkpoint]
    if missing:
        return [f"检查点缺少 {', '.join(missing)} / the checkpoint lacks {', '.join(missing)}"]
    if not signature_ok(checkpoint, public_key_b64):
        return ["检查点签名无效 / the checkpoint's signature does not verify"]
    return []


def check_proof(proof: dict[str, Any], public_key_b64: str | None = None) -> list[str]:
    """Everything that does not hold (empty when the proof is good), in Chinese / English."""
    problems: list[str] = []
    cp = proof.get("checkpoint") or {}
    if not signature_ok(cp, public_key_b64):
        problems.append("检查点签名无效 / the checkpoint's signature does not verify")
    events = proof.get("events") or []
    if not events:
        problems.append("证明中没有事件 / the proof holds no event")
    for item in events:
        fields = [
            item["seq"],
            item["ts"],
            item["actor"],
            item["tenant_id"],
            item["action"],
            item["entity"],
            item["entity_id"],
            item["payload"],
        ]
        seq = item["seq"]
        if event_hash(item["prev_hash"], fields) != item["hash"]:
            problems.append(f"事件 {seq} 的内容与哈希不符 / event {seq}: fields do not hash to it")
        if seq > cp.get("seq", 0) or not included(
            item["hash"], seq - 1, cp.get("seq", 0), item["path"], cp.get("root", "")
        ):
            problems.append(
                f"事件 {seq} 不在已签名的检查点内 / event {seq} is not under the signed checkpoint"
            )
        if str(item["entity_id"]) != str(proof.get("invoice_id")) or item["entity"] != "invoice":
            problems.append(f"事件 {seq} 不是关于这张发票的 / event {seq} is about something else")
    doc = _first_doc(events)
    if doc is None:
        problems.append("证明中没有发票记录 / no event carries the invoice's record")
    elif _key(doc) != proof.get("key"):
        problems.append(
            f"记录的发票是 {_key(doc)}，不是 {proof.get('key')} / the record is another invoice"
        )
    return problems


def _first_doc(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    for item in events:
        try:
            doc = json.loads(item["payload"]).get("doc")
        except (ValueError, AttributeError):
            continue
        if isinstance(doc, dict):
            return doc
    return None


def _key(doc: dict[str, Any]) -> str:
    return f"{doc['code']}-{doc['number']}" if doc.get("code") else str(doc.get("number", ""))


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--key=")]
    pinned = next((a.split("=", 1)[1] for a in argv if a.startswith("--key=")), None)
    if len(args) != 1:
        sys.stderr.write(
            "usage: python -m fapiao.proof proof.json|checkpoint.json [--key=PUBLIC_KEY_BASE64]\n"
        )
        return 2
    try:
        with open(args[0], encoding="utf-8") as fh:
            proof = json.load(fh)
        if proof.get("format") == CHECKPOINT_FORMAT:
            return _main_checkpoint(proof, pinned)
        if proof.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} file")
    except (OSError, ValueError, AttributeError) as exc:
        sys.stderr.write(f"无法读取证明 / cannot read the proof: {exc}\n")
        return 2
    problems = check_proof(proof, pinned)
    cp = proof["checkpoint"]
    if problems:
        for p in problems:
            sys.stdout.write(f"✗ {p}\n")
        return 1
    doc = _first_doc(proof["events"]) or {}
    sys.stdout.write(
        f"✓ 发票 {proof['key']} 在账簿 {cp['ledger_id'][:16]}… 的审计链中，"
        f"检查点 seq {cp['seq']}（{cp['time']}）\n"
        f"✓ invoice {proof['key']} is in the audit chain of ledger {cp['ledger_id'][:16]}…, "
        f"under the checkpoint at seq {cp['seq']} ({cp['time']})\n"
        f"  {doc.get('issue_date', '')} {doc.get('seller', {}).get('name', '')} → "
        f"{doc.get('buyer', {}).get('name', '')} 价税合计 total {doc.get('total', '')}\n"
    )
    for item in proof["events"]:
        sys.stdout.write(f"  event {item['seq']} {item['ts']} {item['actor']} {item['action']}\n")
    return 0


def _main_checkpoint(cp: dict[str, Any], pinned: str | None) -> int:
    problems = check_checkpoint(cp, pinned)
    for p in problems:
        sys.stdout.write(f"✗ {p}\n")
    if problems:
        return 1
    kid = key_id(cp.get("public_key", ""))
    sys.stdout.write(
        f"✓ 检查点签名有效：账簿 {cp['ledger_id'][:16]}…，{cp['seq']} 个事件，根 {cp['root'][:16]}…，"
        f"密钥 {kid}，{cp['time']}\n"
        f"✓ checkpoint signature holds: ledger {cp['ledger_id'][:16]}…, {cp['seq']} events, "
        f"root {cp['root'][:16]}…, key {kid}, {cp['time']}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
