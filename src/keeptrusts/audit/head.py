"""The signed chain head: the last `seq` and `row_hash` the writer committed, HMAC'd with the audit key,
kept in a file beside the database (`audit.db-head`, 0600).

The chain alone cannot show that rows were cut from its end: the rows left still chain perfectly, and
`sqlite_sequence` (which would remember the higher seq) can be rewound by anyone who can write the file.
The head lives outside the database and nobody without the key can write a valid one, so
`kt audit verify` compares the chain's end with it: a chain that ends before the head was truncated, a
chain whose row at the head's seq has another hash was rewritten, and a head naming another database id
means the database was replaced.

The file has two fixed-size slots written alternately with one `pwrite` each (no rename, no fsync:
the database commit is already durable before its head is written, so after a crash or power loss the
head can only lag behind the chain, never run ahead of it). A slot torn by a power loss fails its MAC
and the other slot, one commit older, is used. What a head cannot stop: someone able to write both the
database and this file can put back an older head of their own copy (a replay); an off-machine witness
(the control-plane outbox, or `kt audit verify --json`'s head copied elsewhere) closes that.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from .chain import key_id

SLOT = 512
_MAC_LABEL = b"keeptrusts-audit-head\n"


@dataclass(frozen=True)
class Head:
    db_id: str
    seq: int
    hash: str
    alg: str          # the chain's hash_alg when the head was written
    key_id: str       # the key that signed this head
    n: int = 0        # write counter (orders two slots with the same seq)
    at: int = 0       # when it was written (unix ms)

    def payload(self) -> dict:
        return {"v": 1, "db_id": self.db_id, "seq": self.seq, "hash": self.hash, "alg": self.alg,
                "key_id": self.key_id, "n": self.n, "at": self.at}


@dataclass
class HeadRead:
    """What the head file says. status: "ok", "missing", "wrong_key" (signed with another key),
    "forged" (says our key but its MAC does not verify), "unreadable" (no slot parses)."""
    status: str
    head: Head | None = None
    other_key_id: str | None = None
    slot: int | None = None


def _dump(payload: dict) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def _mac(body: str, key: bytes, base=None) -> str:
    h = base.copy() if base is not None else hmac.new(key, _MAC_LABEL, hashlib.sha256)
    h.update(body.encode("utf-8"))
    return h.hexdigest()


def encode(head: Head, key: bytes, base=None) -> bytes:
    """One slot: the payload's canonical JSON with its MAC added (decode drops it and re-serialises the rest)."""
    body = _dump(head.payload())
    raw = (body[:-1] + ',"mac":"' + _mac(body, key, base) + '"}').encode("utf-8")
    if len(raw) >= SLOT:
        raise ValueError("audit head does not fit its slot")
    return raw + b" " * (SLOT - 1 - len(raw)) + b"\n"


def decode(data: bytes, key: bytes) -> HeadRead:
    """The newest valid slot of a head file's bytes."""
    best: tuple[int, Head] | None = None
    wrong, forged = None, False
    for slot in range(2):
        chunk = data[slot * SLOT:(slot + 1) * SLOT].strip()
        if not chunk:
            continue
        try:
            payload = json.loads(chunk)
            mac = payload.pop("mac")
            head = Head(db_id=str(payload["db_id"]), seq=int(payload["seq"]), hash=str(payload["hash"]),
                        alg=str(payload["alg"]), key_id=str(payload["key_id"]), n=int(payload.get("n", 0)),
                        at=int(payload.get("at", 0)))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue                  # a slot torn by a power loss, or junk
        if head.key_id != key_id(key):
            wrong = head.key_id
            continue
        if not hmac.compare_digest(str(mac), _mac(_dump(payload), key)):
            forged = True
            continue
        if best is None or (head.seq, head.n) > (best[1].seq, best[1].n):
            best = (slot, head)
    if best is not None:
        return HeadRead("ok", best[1], slot=best[0])
    if forged:
        return HeadRead("forged")
    if wrong is not None:
        return HeadRead("wrong_key", other_key_id=wrong)
    return HeadRead("unreadable")


def read(path: str | os.PathLike, key: bytes) -> HeadRead:
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return HeadRead("missing")
    return decode(data, key)


def compare(conn, found: HeadRead, meta: dict, path: Path, first_seq: int | None = None) -> tuple[str, int | None, str] | None:
    """(kind, seq, problem) when a database disagrees with its signed head, None when it agrees (or when
    the head is missing and the database never had one: the caller decides what that means).

    `conn` sees the database; the head must have been read before the snapshot `conn` reads from."""
    row = conn.execute("SELECT seq FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    end = row[0] if row else 0
    if found.status == "missing":
        if meta.get("head") == "signed":
            return ("head_missing", None, f"its signed head {path} is missing: it may hide a cut tail or a rewrite")
        return None
    if found.status == "wrong_key":
        return ("wrong_key", None, f"its head {path} is signed with audit key id {found.other_key_id}")
    if found.status != "ok":
        return ("head_forged", None, f"its head {path} does not verify with the audit key (forged or corrupt)")
    h = found.head
    if h.db_id != meta.get("db_id"):
        return ("replaced", None, f"this is not the database its signed head {path} vouches for (db id "
                                  f"{meta.get('db_id')} vs {h.db_id}): it was deleted or replaced; the head ends at seq {h.seq}")
    if h.alg != meta.get("hash_alg"):
        return ("rewritten", None, f"the chain was rewritten: its rows use {meta.get('hash_alg')}, its signed head "
                                   f"was made over a {h.alg} chain")
    if end < h.seq:
        return ("truncated_tail", end + 1, f"truncated tail: rows seq {end + 1}..{h.seq} were cut from the end of "
                                           f"the chain (its signed head ends at seq {h.seq})")
    at = conn.execute("SELECT row_hash FROM events WHERE seq = ?", (h.seq,)).fetchone()
    if at is not None and at[0] != h.hash:
        return ("rewritten", h.seq, "the chain was rewritten: this row is not the one its signed head names")
    if at is None and h.seq > 0 and (first_seq is None or first_seq <= h.seq):
        return ("missing_range", h.seq, f"row seq {h.seq}, which its signed head names, is missing")
    return None


class HeadFile:
    """The writer's open head file: `write()` costs one HMAC and one pwrite."""

    def __init__(self, path: str | os.PathLike, key: bytes, db_id: str, alg: str):
        self.path = Path(path)
        self.key, self.db_id, self.alg = key, db_id, alg
        self.key_id = key_id(key) or ""
        self._base = hmac.new(key, _MAC_LABEL, hashlib.sha256)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        st = os.fstat(self.fd)
        if st.st_mode & 0o077:
            os.fchmod(self.fd, 0o600)
        self.ident = (st.st_dev, st.st_ino)
        current = decode(os.pread(self.fd, 2 * SLOT, 0), key)
        self.n = current.head.n if current.head else 0
        self.next_slot = 1 - current.slot if current.slot is not None else 0

    def write(self, seq: int, row_hash: str) -> None:
        self.n += 1
        head = Head(self.db_id, seq, row_hash, self.alg, self.key_id, self.n, int(time.time() * 1000))
        os.pwrite(self.fd, encode(head, self.key, self._base), self.next_slot * SLOT)
        self.next_slot = 1 - self.next_slot

    def still_in_place(self) -> bool:
        """False when the file at `path` is gone or is not the one we hold open."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return False
        return (st.st_dev, st.st_ino) == self.ident

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass


def write_once(path: str | os.PathLike, key: bytes, db_id: str, alg: str, seq: int, row_hash: str) -> None:
    """For `kt audit rotate` (another process): write the head after its anchor row."""
    hf = HeadFile(path, key, db_id, alg)
    try:
        hf.write(seq, row_hash)
    finally:
        hf.close()
