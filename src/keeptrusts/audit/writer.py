"""AuditWriter: the one thread that owns the audit database connection.

The addon calls `submit(record)` (never blocks: a queue put) and awaits the returned Future before
it releases the last bytes of a response, so an exchange the client saw is on disk first. The
thread takes whatever is queued and commits it in one transaction (group commit), which is what
makes the store fast: one fsync per batch, not per exchange.

A failed write (disk full, read-only file, database locked past the busy timeout) fails the
futures of that batch with the error and turns `healthy` False, with `last_error` saying why and
where, until a later write succeeds; the addon refuses new requests meanwhile (fail-mode block).
"""
from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Callable

from .. import paths
from . import items as items_mod
from . import rows, store
from .chain import GENESIS, key_from_env, key_id, row_hash

log = logging.getLogger(__name__)

_STOP = object()
_WARM = object()   # queue tag: prepare a request body's items ahead of its record
FROM_ENV = "env"      # outbox default: KEEPTRUSTS_API_URL + KEEPTRUSTS_GATEWAY_TOKEN, when both are set
_INSERT_EVENT = (f"INSERT INTO events ({', '.join(store.COLUMN_NAMES)}) "
                 f"VALUES ({', '.join('?' for _ in store.COLUMN_NAMES)})")
_INSERT_ITEM = "INSERT OR IGNORE INTO items (hash, body, size) VALUES (?, ?, ?)"


class AuditError(Exception):
    """The audit database cannot be used (wrong key, unreadable file...): one line, how to fix."""


def _check_key(conn: sqlite3.Connection, key: bytes | None, db_path: Path) -> None:
    m = store.meta(conn)
    if not m:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", [
            ("schema_version", store.SCHEMA_VERSION),
            ("hash_alg", "hmac-sha256" if key else "sha256"),
            ("key_id", key_id(key) or ""),
            ("created", rows.now_iso()),
        ])
        conn.execute("COMMIT")
        return
    if m.get("hash_alg") == "hmac-sha256" and not key:
        raise AuditError(f"{db_path} is chained with an HMAC key (id {m.get('key_id')}): set "
                         "KEEPTRUSTS_AUDIT_HMAC_KEY to that key, or point the gateway at a new audit db")
    if m.get("hash_alg") == "hmac-sha256" and key_id(key) != m.get("key_id"):
        raise AuditError(f"{db_path} was chained with HMAC key id {m.get('key_id')}, but "
                         f"KEEPTRUSTS_AUDIT_HMAC_KEY has id {key_id(key)}: use the original key or a new audit db")
    if m.get("hash_alg") == "sha256" and key:
        raise AuditError(f"{db_path} is chained without a key, but KEEPTRUSTS_AUDIT_HMAC_KEY is set: unset it "
                         "or point the gateway at a new audit db (a chain uses one key from its first row)")


def _keyed_by_target(overrides: dict | None) -> dict:
    """{target id: pricing block}; a bare pricing block (input/output/... keys) applies to every target."""
    if not overrides:
        return {}
    if set(overrides) <= {"input", "cached_input", "output", "models"}:
        return {"*": overrides}
    return dict(overrides)


def chain_head(conn: sqlite3.Connection) -> tuple[int, str]:
    row = conn.execute("SELECT seq, row_hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else (0, GENESIS)


_ACTIVE: list["AuditWriter"] = []      # writers started in this process, newest last


def active_writer() -> "AuditWriter | None":
    """The process's running writer (the gateway has one): budgets read spend from its database."""
    return _ACTIVE[-1] if _ACTIVE else None


class AuditWriter:
    def __init__(self, db_path: str | Path | None = None, hmac_key: bytes | None = None,
                 pricing_overrides: dict | None = None, outbox=FROM_ENV, *,
                 synchronous: str = "FULL", busy_timeout_ms: int = 2000, max_batch: int = 512,
                 on_connect: Callable[[sqlite3.Connection], None] | None = None):
        """`hmac_key` None reads KEEPTRUSTS_AUDIT_HMAC_KEY; `outbox` is a ControlPlaneConfig, None (off),
        or by default the control plane named by KEEPTRUSTS_API_URL and KEEPTRUSTS_GATEWAY_TOKEN.

        `pricing_overrides`: {target id: `providers.targets[].pricing` block} (see keeptrusts.pricing),
        or one bare pricing block for every target.

        `synchronous` FULL fsyncs each group commit (survives power loss; kill -9 needs only NORMAL).
        `on_connect` lets tests shape the connection (e.g. a page limit to simulate a full disk).
        """
        self.db_path = Path(db_path) if db_path else paths.audit_db()
        self.hmac_key = hmac_key if hmac_key is not None else key_from_env()
        self.pricing_overrides = _keyed_by_target(pricing_overrides)
        if outbox == FROM_ENV:
            from .outbox import ControlPlaneConfig
            outbox = ControlPlaneConfig.from_env()
        self.outbox = outbox
        self.synchronous = synchronous
        self.busy_timeout_ms = busy_timeout_ms
        self.max_batch = max_batch
        self._on_connect = on_connect
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._sender = None
        self._closed = False
        self._commit_listeners: list[Callable[[list[dict]], None]] = []
        self.healthy = True
        self.last_error: str | None = None
        self.rows_written = 0

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> "AuditWriter":
        """Open/create the database (raises AuditError when unusable) and start the writer thread."""
        try:
            conn = store.connect(self.db_path, busy_timeout_ms=self.busy_timeout_ms)
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            store.create(conn)
            _check_key(conn, self.hmac_key, self.db_path)
        except (sqlite3.Error, OSError) as exc:
            raise AuditError(f"cannot open audit db {self.db_path}: {exc} (check the path, free space and "
                             "permissions, or pass another --audit-db)") from None
        if self.outbox is not None:
            from .outbox import OutboxSender
            self._sender = OutboxSender(self.db_path, self.outbox)
            self._sender.init_cursors(conn)   # before our first write, so none is skipped
        if self._on_connect:
            self._on_connect(conn)
        self._conn = conn
        self._thread = threading.Thread(target=self._run, name="keeptrusts-audit-writer", daemon=True)
        self._thread.start()
        if self._sender:
            self._sender.start()
        _ACTIVE.append(self)
        return self

    def close(self, timeout: float = 5) -> None:
        """Write everything queued, then stop the thread (and the control-plane sender)."""
        if self._closed:
            return
        self._closed = True
        if self in _ACTIVE:
            _ACTIVE.remove(self)
        self._queue.put(_STOP)
        if self._thread:
            self._thread.join(timeout)
        if self._sender:
            self._sender.close(timeout)       # makes one last pass first

    def __enter__(self) -> "AuditWriter":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the addon's side -----------------------------------------------------------------------
    def submit(self, record: dict) -> Future:
        """Queue one record; the Future resolves to its row's `seq` once committed, or fails."""
        fut: Future = Future()
        if self._closed or self._thread is None:
            fut.set_exception(AuditError(f"audit writer for {self.db_path} is not running"))
            return fut
        self._queue.put((record, fut))
        return fut

    def warm(self, request_body: str | None) -> None:
        """Let the writer thread prepare a request body's history items now, while the model generates;
        the record that later carries the same body commits faster. Never blocks, never fails."""
        if request_body and not self._closed and self._thread is not None:
            self._queue.put((_WARM, request_body))

    def on_commit(self, listener: Callable[[list[dict]], None]) -> None:
        """Call `listener(rows)` from the writer thread after each committed batch (budgets, metrics)."""
        self._commit_listeners.append(listener)

    # -- the writer thread ----------------------------------------------------------------------
    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                break
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stopping = True
                    break
                batch.append(nxt)
            warm = [body for tag, body in batch if tag is _WARM]
            batch = [entry for entry in batch if entry[0] is not _WARM]
            if batch:
                self._write_batch(batch)
            for body in warm:  # after the records: a waiting response never queues behind a warm-up
                try:
                    items_mod.warm(body)
                except Exception:  # a body the writer cannot split is handled when its record comes
                    log.debug("audit warm-up failed", exc_info=True)
        try:
            self._conn.close()
        except sqlite3.Error:
            pass

    def _write_batch(self, batch: list) -> None:
        prepared = []
        for record, fut in batch:
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                row, item_texts = rows.build(record, self.pricing_overrides)
            except Exception as exc:  # a malformed record fails alone
                fut.set_exception(AuditError(f"audit record rejected: {exc!r}"))
                continue
            prepared.append((fut, row, item_texts))
        if not prepared:
            return
        try:
            self._commit(prepared)
        except sqlite3.IntegrityError as exc:
            if len(prepared) == 1:
                self._fail(prepared, exc, False)
                return
            for one in prepared:           # isolate the bad record (e.g. a duplicate id)
                try:
                    self._commit([one])
                except Exception as exc:
                    self._fail([one], exc, isinstance(exc, sqlite3.OperationalError))
        except Exception as exc:
            self._fail(prepared, exc, True)

    def _commit(self, prepared: list) -> None:
        conn = self._conn
        new_items: dict[str, str] = {}
        for _fut, _row, item_texts in prepared:
            new_items.update(item_texts)
        try:
            conn.execute("BEGIN IMMEDIATE")
            # The head is read inside the write lock: `kt audit rotate` (or a second gateway on the
            # same file) may have appended rows since our last batch.
            seq, prev = chain_head(conn)
            event_rows = []
            for _fut, row, _ in prepared:
                seq += 1
                row["seq"], row["prev_hash"] = seq, prev
                row["row_hash"] = prev = row_hash(prev, store.hash_content(row), self.hmac_key)
                event_rows.append([row[c] for c in store.COLUMN_NAMES])
            if new_items:
                # Always INSERT OR IGNORE (no in-memory "already stored" cache): rotation may have
                # moved an item to an archive since we last saw it.
                conn.executemany(_INSERT_ITEM, [(h, t, len(t)) for h, t in new_items.items()])
            conn.executemany(_INSERT_EVENT, event_rows)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            raise
        self.rows_written += len(prepared)
        if not self.healthy:
            log.warning("audit db %s writable again", self.db_path)
        self.healthy, self.last_error = True, None
        for listener in self._commit_listeners:      # before the futures: budgets see the spend first
            try:
                listener([r for _, r, _ in prepared])
            except Exception:
                log.exception("audit commit listener failed")
        for fut, row, _ in prepared:
            fut.set_result(row["seq"])

    def _fail(self, prepared: list, exc: BaseException, storage_problem: bool) -> None:
        msg = f"audit write to {self.db_path} failed: {exc}"
        if storage_problem:
            self.healthy = False
            self.last_error = msg + " (free disk space / check permissions / stop the process holding the lock)"
            log.error(self.last_error)
        for fut, _row, _ in prepared:
            if not fut.done():
                fut.set_exception(AuditError(msg))

