"""`kt audit rotate --keep 30d`: move old rows to a sealed archive file; the live chain goes on.

1. Rows older than the cutoff (a prefix of the chain: timestamps only grow) and the items they use
   are copied, hashes untouched, into `<db>-archive-<first>-<last>.db`. Its meta holds a seal
   (row count, first/last seq, the hash the chain starts after, the last hash) hashed with the
   chain's key, so the archive verifies on its own and cannot be trimmed unnoticed.
2. In one short transaction on the live db: those rows and the items no remaining row uses are
   deleted (the only time the triggers are lifted), and an `anchor` row is appended to the chain
   naming the archive and its last hash. `kt audit verify` accepts the live chain starting right
   after the archived part only because that anchor, itself chained, says so.
3. The signed head beside the live db is checked first (a rotation never launders a cut tail into a
   freshly signed head) and re-signed after the anchor. Archives are created 0400: they hold the same
   prompts as the live db.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from .. import paths
from . import head as head_mod
from . import store
from .chain import key_id, resolve_key, row_hash
from .items import CHUNK_PREFIX
from .rows import now_iso
from .verify import seal_hash
from .writer import AuditError, chain_head

_COLS = ", ".join(store.COLUMN_NAMES)


@dataclass
class RotateResult:
    archived_rows: int
    archive: str | None
    first_seq: int | None = None
    last_seq: int | None = None
    items_removed: int = 0

    def to_dict(self) -> dict:
        return self.__dict__.copy()


def rotate(db_path: str | Path, keep: dt.timedelta, key: bytes | None = None,
           archive_dir: str | Path | None = None, now: dt.datetime | None = None) -> RotateResult:
    """`key` None: KEEPTRUSTS_AUDIT_HMAC_KEY, else the state dir's key file; b"": none."""
    db_path = Path(db_path)
    if key is None:
        key = resolve_key(create=False)[0]
    key = key or None
    head_key = key
    if not db_path.exists():
        raise AuditError(f"no audit db at {db_path}: pass --db with the gateway's audit database")
    now = now or dt.datetime.now(dt.timezone.utc)
    cutoff = (now - keep).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    conn = store.connect(db_path, busy_timeout_ms=10_000)
    try:
        m = store.meta(conn)
        if m.get("hash_alg") == "hmac-sha256" and key_id(key) != m.get("key_id"):
            raise AuditError(f"{db_path} is chained with HMAC key id {m.get('key_id')}: set "
                             "KEEPTRUSTS_AUDIT_HMAC_KEY to that key to rotate it")
        if m.get("hash_alg") == "sha256":
            key = None
        head_path = paths.audit_head(db_path)
        found = head_mod.read(head_path, head_key) if head_key else None
        if found is None and m.get("head") == "signed":
            raise AuditError(f"{db_path} has a signed head: set KEEPTRUSTS_AUDIT_HMAC_KEY (or KEEPTRUSTS_HOME) to "
                             "the gateway's audit key to rotate it")
        # The archived part is a prefix of the chain: stop at the first row at or after the cutoff.
        first_keep = conn.execute("SELECT MIN(seq) FROM events WHERE timestamp >= ?", (cutoff,)).fetchone()[0]
        head_seq, _ = chain_head(conn)
        through = (first_keep - 1) if first_keep is not None else head_seq
        first = conn.execute("SELECT MIN(seq) FROM events").fetchone()[0]
        if first is None or through < first:
            return RotateResult(0, None)
        rows = conn.execute(f"SELECT {_COLS} FROM events WHERE seq BETWEEN ? AND ? ORDER BY seq",
                            (first, through)).fetchall()
        archived_items = _hashes((r[store.COLUMN_NAMES.index("item_hashes")] for r in rows), conn)
        archive = Path(archive_dir or db_path.parent) / f"{db_path.stem}-archive-{first:09d}-{through:09d}.db"
        seal = {"first_seq": first, "last_seq": through, "rows": len(rows),
                "starts_after_hash": rows[0][store.COLUMN_NAMES.index("prev_hash")],
                "last_hash": rows[-1][store.COLUMN_NAMES.index("row_hash")],
                "archive_of": str(db_path.name), "sealed_at": now_iso(), "cutoff": cutoff}
        _write_archive(archive, conn, rows, archived_items, m, seal, key)

        # Items still used by rows we keep (read before the lock; rows added meanwhile checked inside).
        seen_head = conn.execute("SELECT MAX(seq) FROM events").fetchone()[0]
        still_used = _hashes([r[0] for r in conn.execute(
            "SELECT item_hashes FROM events WHERE seq > ? AND seq <= ?", (through, seen_head))], conn)
        conn.execute("BEGIN IMMEDIATE")
        try:
            if found is not None:
                problem = head_mod.compare(conn, found, store.meta(conn), head_path)
                if problem:
                    raise AuditError(f"not rotating {db_path}: {problem[2]}; run kt audit verify --db {db_path}")
            still_used |= _hashes([r[0] for r in conn.execute(
                "SELECT item_hashes FROM events WHERE seq > ?", (seen_head,))], conn)
            head = chain_head(conn)        # before the delete: everything may be archived
            store.drop_triggers(conn)
            conn.execute("DELETE FROM events WHERE seq BETWEEN ? AND ?", (first, through))
            orphans = [(h,) for h in archived_items - still_used]
            conn.executemany("DELETE FROM items WHERE hash = ?", orphans)
            store.add_triggers(conn)
            anchor = _append_anchor(conn, key, head, {
                "archive": archive.name, "archived_from_seq": first, "archived_through_seq": through,
                "archived_rows": len(rows), "archive_last_hash": seal["last_hash"],
                "archive_seal_hash": seal_hash(seal, key), "cutoff": cutoff})
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if found is not None and found.status == "ok":
            mm = store.meta(conn)
            head_mod.write_once(head_path, head_key, mm["db_id"], mm.get("hash_alg") or "sha256", *anchor)
        return RotateResult(len(rows), str(archive), first, through, len(orphans))
    except sqlite3.Error as exc:
        raise AuditError(f"rotate {db_path} failed: {exc}") from None
    finally:
        conn.close()


def _hashes(values, conn: sqlite3.Connection) -> set[str]:
    """Every item hash the rows use, through chunks (`c:<hash>`) too."""
    out: set[str] = set()
    chunks: set[str] = set()
    for v in values:
        for ref in json.loads(v) if v else ():
            if ref.startswith(CHUNK_PREFIX):
                chunks.add(ref[len(CHUNK_PREFIX):])
            else:
                out.add(ref)
    for c in chunks:
        out.add(c)
        r = conn.execute("SELECT body FROM items WHERE hash = ?", (c,)).fetchone()
        if r:
            out.update(json.loads(r[0]))
    return out


def _write_archive(path: Path, live: sqlite3.Connection, rows: list, item_hashes: set[str], m: dict,
                   seal: dict, key: bytes | None) -> None:
    if path.exists():
        raise AuditError(f"archive {path} already exists: move it away or pass --archive-dir")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    if tmp.exists():
        tmp.unlink()
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))   # private from its first byte
    arc = sqlite3.connect(str(tmp), isolation_level=None)
    try:
        store.create(arc)
        arc.execute("BEGIN")
        arc.executemany(f"INSERT INTO events ({_COLS}) VALUES ({', '.join('?' for _ in store.COLUMN_NAMES)})", rows)
        for h in item_hashes:
            r = live.execute("SELECT hash, body, size FROM items WHERE hash = ?", (h,)).fetchone()
            if r:
                arc.execute("INSERT INTO items (hash, body, size) VALUES (?, ?, ?)", r)
        arc.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", [
            ("schema_version", m.get("schema_version", store.SCHEMA_VERSION)),
            ("hash_alg", m.get("hash_alg", "sha256")), ("key_id", m.get("key_id", "")),
            ("created", m.get("created", "")), ("seal", json.dumps(seal, sort_keys=True)),
            ("seal_hash", seal_hash(seal, key))])
        arc.execute("COMMIT")
    finally:
        arc.close()
    os.replace(tmp, path)
    os.chmod(path, 0o400)


def _append_anchor(conn: sqlite3.Connection, key: bytes | None, head: tuple[int, str], info: dict) -> tuple[int, str]:
    seq, prev = head
    row = {c: None for c in store.COLUMN_NAMES}
    row.update(seq=seq + 1, id="anc_" + secrets.token_hex(12), timestamp=now_iso(), event_type="anchor",
               verdict="allow", reason_code="audit_rotated", cost_usd=0.0,
               extra=json.dumps(info, separators=(",", ":"), sort_keys=True), prev_hash=prev)
    row["row_hash"] = row_hash(prev, store.hash_content(row), key)
    conn.execute(f"INSERT INTO events ({_COLS}) VALUES ({', '.join('?' for _ in store.COLUMN_NAMES)})",
                 [row[c] for c in store.COLUMN_NAMES])
    return row["seq"], row["row_hash"]
