"""`kt audit verify`: recompute the chain and report the first row where it breaks.

Detects: an edited row (its hash no longer matches), deleted rows (a gap in `seq`, or a
`prev_hash` naming a row that is gone), inserted or reordered rows (`prev_hash` does not name the
row before), an edited or missing history item (its SHA-256 no longer matches its key, or a row
references an item that is gone), rows cut from the end (`sqlite_sequence` is ahead of the last
row), and a broken archive seal. A chain may start after GENESIS only where an anchor row (written
by `kt audit rotate`) or an archive seal says so.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import store
from .items import CHUNK_PREFIX
from .chain import GENESIS, canonical, item_hash, key_id, row_hash


@dataclass
class Problem:
    seq: int | None
    id: str | None
    problem: str


@dataclass
class VerifyResult:
    ok: bool
    db: str
    rows: int = 0
    items: int = 0
    hash_alg: str | None = None
    archive: bool = False
    first_seq: int | None = None
    last_seq: int | None = None
    last_hash: str | None = None
    error: Problem | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        return d

    def render(self) -> str:
        if self.ok:
            kind = "archive " if self.archive else ""
            rng = f" (seq {self.first_seq}..{self.last_seq}, head {self.last_hash[:16]})" if self.rows else ""
            return f"OK {self.rows} rows, {self.items} items verified in {kind}{self.db} [{self.hash_alg}]{rng}"
        e = self.error
        where = f"row seq {e.seq}" + (f" ({e.id})" if e.id else "") if e.seq is not None else "database"
        return f"BROKEN {self.db}: {where}: {e.problem} ({self.rows} rows verified before it)"


class KeyProblem(Exception):
    pass


def seal_hash(seal: dict, key: bytes | None) -> str:
    return row_hash(GENESIS, {"seal": seal}, key)


def verify(db_path: str | Path, key: bytes | None = None) -> VerifyResult:
    db_path = Path(db_path)
    res = VerifyResult(ok=False, db=str(db_path))
    conn = store.connect(db_path, readonly=True)
    conn.isolation_level = None
    try:
        # One read transaction: a consistent snapshot while the gateway keeps appending
        # (rows committed after the items scan would otherwise look like they lack items).
        conn.execute("BEGIN")
        return _verify(conn, res, key)
    finally:
        conn.close()


def _verify(conn: sqlite3.Connection, res: VerifyResult, key: bytes | None) -> VerifyResult:
    m = store.meta(conn)
    res.hash_alg = m.get("hash_alg")
    res.archive = "seal" in m

    def broken(seq, id_, problem) -> VerifyResult:
        res.error = Problem(seq, id_, problem)
        return res

    if not m:
        return broken(None, None, "not a keeptrusts audit database (no meta table)")
    if res.hash_alg == "hmac-sha256":
        if not key:
            raise KeyProblem(f"{res.db} is chained with an HMAC key (id {m.get('key_id')}): "
                             "set KEEPTRUSTS_AUDIT_HMAC_KEY to verify it")
        if key_id(key) != m.get("key_id"):
            raise KeyProblem(f"{res.db} was chained with HMAC key id {m.get('key_id')}, "
                             f"KEEPTRUSTS_AUDIT_HMAC_KEY has id {key_id(key)}: use the original key")
    elif key:
        res.notes.append("KEEPTRUSTS_AUDIT_HMAC_KEY is set but this chain is unkeyed (sha256); verified without it")
        key = None

    # Items: every stored body must still hash to its key.
    good_items: set[str] = set()
    for h, body in conn.execute("SELECT hash, body FROM items"):
        if item_hash(body) != h:
            return broken(_first_user_of(conn, h), None, f"history item {h[:16]} was edited "
                                                          "(its content no longer matches its hash)")
        good_items.add(h)
    res.items = len(good_items)

    # Where the chain may start: GENESIS, an archive's recorded start, or a rotation anchor.
    starts: dict[int, str] = {}
    if res.archive:
        seal = json.loads(m["seal"])
        starts[seal["first_seq"] - 1] = seal["starts_after_hash"]
    for (extra,) in conn.execute("SELECT extra FROM events WHERE event_type = 'anchor'"):
        try:
            a = json.loads(extra)
            starts[int(a["archived_through_seq"])] = a["archive_last_hash"]
        except (TypeError, ValueError, KeyError):
            continue

    checked_chunks: set[str] = set()
    cols = ", ".join(store.COLUMN_NAMES)
    prev_seq, prev_hash = None, None
    for values in conn.execute(f"SELECT {cols} FROM events ORDER BY seq"):
        row = dict(zip(store.COLUMN_NAMES, values))
        seq, eid = row["seq"], row["id"]
        if prev_seq is None:
            expected = GENESIS if seq == 1 else starts.get(seq - 1)
            if expected is None:
                return broken(seq, eid, f"the chain starts at seq {seq} with no rotation anchor: "
                                        f"rows 1..{seq - 1} were deleted")
            if row["prev_hash"] != expected:
                return broken(seq, eid, "first row does not continue from "
                                        + ("GENESIS" if seq == 1 else "the archived chain")
                                        + " (rows deleted, inserted or replaced before it)")
            res.first_seq = seq
        else:
            if seq != prev_seq + 1:
                return broken(seq, eid, f"rows seq {prev_seq + 1}..{seq - 1} are missing (deleted)")
            if row["prev_hash"] != prev_hash:
                return broken(seq, eid, f"prev_hash does not match row seq {prev_seq}: "
                                        "a row was inserted, deleted or reordered here")
        computed = row_hash(row["prev_hash"], store.hash_content(row), key)
        if computed != row["row_hash"]:
            return broken(seq, eid, "row content was edited (its hash no longer matches)")
        for ref in json.loads(row["item_hashes"] or "[]"):
            missing = _missing_item(conn, ref, good_items, checked_chunks)
            if missing:
                return broken(seq, eid, f"history item {missing[:16]} it references is missing (deleted)")
        prev_seq, prev_hash = seq, row["row_hash"]
        res.rows += 1

    res.last_seq, res.last_hash = prev_seq, prev_hash
    try:
        top = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
    except sqlite3.OperationalError:
        top = None
    if top and prev_seq is not None and top[0] > prev_seq:
        return broken(top[0], None, f"rows seq {prev_seq + 1}..{top[0]} were cut from the end of the chain")
    if top and prev_seq is None and top[0] > 0 and not res.archive:
        return broken(top[0], None, f"all {top[0]} rows were deleted")
    if res.archive:
        seal = json.loads(m["seal"])
        if seal_hash(seal, key) != m.get("seal_hash"):
            return broken(None, None, "the archive seal was altered")
        if (seal["rows"], seal["last_seq"], seal["last_hash"]) != (res.rows, prev_seq, prev_hash):
            return broken(prev_seq, None, f"archive holds {res.rows} rows ending at seq {prev_seq}, its seal says "
                                          f"{seal['rows']} rows ending at seq {seal['last_seq']}")
    res.ok = True
    return res


def _missing_item(conn: sqlite3.Connection, ref: str, good: set[str], checked_chunks: set[str]) -> str | None:
    """The first hash under `ref` (an item, or `c:` a chunk of item hashes) that is not stored intact."""
    if not ref.startswith(CHUNK_PREFIX):
        return None if ref in good else ref
    chunk = ref[len(CHUNK_PREFIX):]
    if chunk not in good:
        return chunk
    if chunk not in checked_chunks:
        body = conn.execute("SELECT body FROM items WHERE hash = ?", (chunk,)).fetchone()[0]
        for h in json.loads(body):
            if h not in good:
                return h
        checked_chunks.add(chunk)
    return None


def _first_user_of(conn: sqlite3.Connection, h: str) -> int | None:
    row = conn.execute("SELECT seq FROM events WHERE item_hashes LIKE ? ORDER BY seq LIMIT 1",
                       (f'%{h}"%',)).fetchone()
    return row[0] if row else None


__all__ = ["verify", "VerifyResult", "KeyProblem", "seal_hash", "canonical"]
