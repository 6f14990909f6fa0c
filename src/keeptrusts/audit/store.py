"""The audit database schema: one file, WAL, append-only.

Tables
- `events`: one row per exchange (or anchor row after a rotation), chained by prev_hash/row_hash.
- `items`:  history items (`input[i]` / `messages[i]`, big top-level values such as `instructions`
            and `tools`) stored once, keyed by the SHA-256 of their canonical JSON. An event row
            lists the hashes it uses, so its row_hash covers them.
- `meta`:   schema version, hash algorithm and key id (archives: their seal).
- `outbox`: control-plane send cursors (not chained: it is bookkeeping, not evidence).
Triggers refuse UPDATE and DELETE on events, items and meta.
"""
from __future__ import annotations

import dataclasses
import json
import math
import sqlite3
from pathlib import Path

import sqlite_utils

SCHEMA_VERSION = "1"

# (column, SQLite type). Order is the insert order; `seq` is the chain position (rowid).
EVENT_COLUMNS: list[tuple[str, str]] = [
    ("seq", "INTEGER"), ("id", "TEXT"), ("timestamp", "TEXT"), ("event_type", "TEXT"),
    ("mode", "TEXT"), ("transport", "TEXT"), ("client", "TEXT"),
    ("developer", "TEXT"), ("developer_source", "TEXT"), ("key_fingerprint", "TEXT"),
    ("method", "TEXT"), ("host", "TEXT"), ("path", "TEXT"), ("api", "TEXT"),
    ("model", "TEXT"), ("provider", "TEXT"), ("target_id", "TEXT"),
    ("config_name", "TEXT"), ("config_version", "TEXT"), ("session_id", "TEXT"),
    ("status", "INTEGER"), ("verdict", "TEXT"), ("reason_code", "TEXT"),
    ("flagged_by", "TEXT"),          # ",pii-detector,agent-firewall," : policies with a non-allow verdict
    ("policies", "TEXT"),            # JSON list of Verdict.to_dict()
    ("request_format", "TEXT"),      # "split-v1" (skeleton + items), "raw" (not JSON), NULL (no body)
    ("request_skeleton", "TEXT"),
    ("item_hashes", "TEXT"),         # JSON list of the item hashes the skeleton references
    ("response_body", "TEXT"), ("output", "TEXT"),
    ("input_tokens", "INTEGER"), ("cached_input_tokens", "INTEGER"),
    ("output_tokens", "INTEGER"), ("reasoning_tokens", "INTEGER"),
    ("cost_usd", "REAL"), ("price_source", "TEXT"),
    ("quality", "REAL"), ("durations", "TEXT"), ("total_ms", "REAL"),
    ("error", "TEXT"), ("bytes_in", "INTEGER"), ("bytes_out", "INTEGER"),
    ("extra", "TEXT"),               # JSON of record keys this schema does not know
    ("prev_hash", "TEXT"), ("row_hash", "TEXT"),
]
COLUMN_NAMES = [c for c, _ in EVENT_COLUMNS]
HASHED_COLUMNS = [c for c in COLUMN_NAMES if c != "row_hash"]
_TYPES = dict(EVENT_COLUMNS)

CHAINED_TABLES = ("events", "items", "meta")


def _jsonable(obj):
    """Odd values in a record (a dataclass, bytes, a set) are kept readable instead of failing the row."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, (set, tuple, frozenset)):
        return list(obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    return str(obj)


def normalise(column: str, value):
    """The value as SQLite will give it back (so hashes computed before and after storage agree)."""
    if value is None:
        return None
    t = _TYPES[column]
    if t == "INTEGER":
        try:
            v = int(value)
        except (TypeError, ValueError):
            return None
        return v if -(2 ** 63) <= v < 2 ** 63 else None
    if t == "REAL":
        try:
            v = float(value)
        except (TypeError, ValueError):
            return None
        return v if math.isfinite(v) else None      # SQLite stores NaN as NULL
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_jsonable)


def hash_content(row: dict) -> dict:
    return {c: row.get(c) for c in HASHED_COLUMNS}


def create(conn: sqlite3.Connection) -> None:
    """Create tables, indexes and triggers if missing (idempotent)."""
    db = sqlite_utils.Database(conn)
    if "events" not in db.table_names():
        cols = ",\n  ".join(f"{c} {t}" + (" PRIMARY KEY AUTOINCREMENT" if c == "seq" else "") + (" UNIQUE" if c == "id" else "")
                            for c, t in EVENT_COLUMNS)
        conn.execute(f"CREATE TABLE events (\n  {cols}\n)")
    conn.execute("CREATE TABLE IF NOT EXISTS items (hash TEXT PRIMARY KEY, body TEXT NOT NULL, size INTEGER)")
    conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
    conn.execute("CREATE TABLE IF NOT EXISTS outbox (name TEXT PRIMARY KEY, last_seq INTEGER NOT NULL, "
                 "updated TEXT, last_error TEXT)")
    for name, cols in (("timestamp", "timestamp"), ("developer", "developer, timestamp"),
                       ("verdict", "verdict, timestamp")):
        conn.execute(f"CREATE INDEX IF NOT EXISTS events_{name} ON events ({cols})")
    add_triggers(conn)


def add_triggers(conn: sqlite3.Connection) -> None:
    for table in CHAINED_TABLES:
        for op in ("UPDATE", "DELETE"):
            conn.execute(
                f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'audit {table} is append-only: {op} refused'); END")


def drop_triggers(conn: sqlite3.Connection) -> None:
    """Only `kt audit rotate` does this, inside the transaction that moves rows to an archive."""
    for table in CHAINED_TABLES:
        for op in ("update", "delete"):
            conn.execute(f"DROP TRIGGER IF EXISTS {table}_no_{op}")


def connect(path: str | Path, *, readonly: bool = False, busy_timeout_ms: int = 5000) -> sqlite3.Connection:
    """A connection in WAL mode. Read-only connections never take the write lock."""
    path = Path(path)
    if readonly:
        if not path.exists():
            raise FileNotFoundError(str(path))
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=busy_timeout_ms / 1000,
                               check_same_thread=False)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=busy_timeout_ms / 1000, isolation_level=None,
                               check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    return conn


def meta(conn: sqlite3.Connection) -> dict[str, str]:
    try:
        return dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.OperationalError:
        return {}
