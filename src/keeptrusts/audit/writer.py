"""AuditWriter: the one thread that owns the audit database connection.

The addon calls `submit(record)` (never blocks: a queue put) and awaits the returned Future before
it releases the last bytes of a response, so an exchange the client saw is on disk first. The
thread takes whatever is queued and commits it in one transaction (group commit), which is what
makes the store fast: one fsync per batch, not per exchange.

A failed write (disk full, read-only file, database locked past the busy timeout) fails the
futures of that batch with the error and turns `healthy` False, with `last_error` saying why and
where, until a later write succeeds; the addon refuses new requests meanwhile (fail-mode block).

Integrity (issue 15): the chain is keyed by default (the state dir's audit key, see chain.py); after
each commit the writer signs the new chain head into `<db>-head` (head.py). Before each commit it
checks that the database file (and the head file) are still the ones it opened and that the chain did
not shrink under it; a database deleted, replaced or truncated while the gateway runs turns the
writer unhealthy for good (until a restart), with `last_error` saying what happened, so the addon
fails closed instead of writing into a file nobody will ever read. The database and its WAL/SHM are
created 0600.
"""
from __future__ import annotations

import logging
import os
import queue
import secrets
import sqlite3
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Callable

from .. import paths
from . import head as head_mod
from . import items as items_mod
from . import rows, store
from .chain import GENESIS, KeyFileError, key_id, resolve_key, row_hash

log = logging.getLogger(__name__)

_STOP = object()
_WARM = object()   # queue tag: prepare a request body's items ahead of its record
FROM_ENV = "env"      # outbox default: KEEPTRUSTS_API_URL + KEEPTRUSTS_GATEWAY_TOKEN, when both are set
_INSERT_EVENT = (f"INSERT INTO events ({', '.join(store.COLUMN_NAMES)}) "
                 f"VALUES ({', '.join('?' for _ in store.COLUMN_NAMES)})")
_INSERT_ITEM = "INSERT OR IGNORE INTO items (hash, body, size) VALUES (?, ?, ?)"


class AuditError(Exception):
    """The audit database cannot be used (wrong key, unreadable file...): one line, how to fix."""


class AuditTampered(AuditError):
    """The database was deleted, replaced or cut while we hold it: sticky until the gateway restarts."""


def _key_name(source: str) -> str:
    return {"env": "KEEPTRUSTS_AUDIT_HMAC_KEY", "file": f"the audit key {paths.audit_hmac_key()}",
            "created": f"the new audit key {paths.audit_hmac_key()}",
            "argument": "the key given"}.get(source, "the key")


def _check_key(conn: sqlite3.Connection, key: bytes | None, source: str, db_path: Path) -> bytes | None:
    """Record the chain's algorithm on a new database, or check the key against an existing one.
    Returns the key the chain's rows use (None for an unkeyed chain)."""
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
        return key
    if m.get("hash_alg") == "hmac-sha256" and not key:
        raise AuditError(f"{db_path} is chained with an HMAC key (id {m.get('key_id')}): set "
                         "KEEPTRUSTS_AUDIT_HMAC_KEY to that key, or point the gateway at a new audit db")
    if m.get("hash_alg") == "hmac-sha256" and key_id(key) != m.get("key_id"):
        raise AuditError(f"{db_path} was chained with HMAC key id {m.get('key_id')}, but "
                         f"{_key_name(source)} has id {key_id(key)}: use the original key "
                         "(KEEPTRUSTS_AUDIT_HMAC_KEY) or point the gateway at a new audit db")
    if m.get("hash_alg") == "sha256" and key:
        if source in ("file", "created"):
            # A database from before keyed-by-default: its rows stay sha256 (a chain keeps one algorithm),
            # but its head is signed from now on, so a cut tail or a rewrite is still caught.
            log.warning("audit db %s has an unkeyed chain (started before keyed-by-default); its head is "
                        "signed now. Rotate to a new database for a keyed chain.", db_path)
            return None
        raise AuditError(f"{db_path} is chained without a key, but KEEPTRUSTS_AUDIT_HMAC_KEY is set: unset it "
                         "or point the gateway at a new audit db (a chain uses one key from its first row)")
    return key


def _db_id(conn: sqlite3.Connection) -> str:
    """A random id for this database, named by its signed head (so a head cannot vouch for another file)."""
    m = store.meta(conn)
    if m.get("db_id"):
        return m["db_id"]
    conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('db_id', ?)", (secrets.token_hex(16),))
    return store.meta(conn)["db_id"]


def create_private(path: Path) -> None:
    """Create the database file 0600 before SQLite opens it: SQLite gives its -wal and -shm files the
    database file's mode, so all three are private without touching the process-wide umask (which
    mitmproxy's other threads share). An existing file (and its -wal/-shm) is tightened to 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return
    except FileExistsError:
        pass
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            if p.stat().st_mode & 0o077:
                os.chmod(p, 0o600)
        except FileNotFoundError:
            pass
        except OSError as exc:     # not ours, or a read-only filesystem: SQLite then says what it can do
            log.warning("audit db file %s is readable by other users and cannot be made private: %s", p, exc)


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
        """`hmac_key` None: KEEPTRUSTS_AUDIT_HMAC_KEY, else the state dir's audit key (generated at the
        first start); b"" chains without a key (and without a signed head: nothing could sign it).
        `outbox` is a ControlPlaneConfig, None (off),
        or by default the control plane named by KEEPTRUSTS_API_URL and KEEPTRUSTS_GATEWAY_TOKEN.

        `pricing_overrides`: {target id: `providers.targets[].pricing` block} (see keeptrusts.pricing),
        or one bare pricing block for every target.

        `synchronous` FULL fsyncs each group commit (survives power loss; kill -9 needs only NORMAL).
        `on_connect` lets tests shape the connection (e.g. a page limit to simulate a full disk).
        """
        self.db_path = Path(db_path) if db_path else paths.audit_db()
        self._key_arg = hmac_key
        self.hmac_key: bytes | None = hmac_key or None     # resolved in start()
        self.head_path = paths.audit_head(self.db_path)
        self._head: head_mod.HeadFile | None = None
        self._db_ident: tuple[int, int] | None = None
        self._last: tuple[int, str] = (0, GENESIS)   # the chain head as of our last commit
        self._tampered: str | None = None
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
            key, source = resolve_key(self._key_arg, create=True)
        except (KeyFileError, OSError) as exc:
            raise AuditError(str(exc) if isinstance(exc, KeyFileError) else
                             f"cannot create the audit key {paths.audit_hmac_key()}: {exc} (check the state "
                             "dir's permissions, or set KEEPTRUSTS_AUDIT_HMAC_KEY)") from None
        try:
            create_private(self.db_path)
            conn = store.connect(self.db_path, busy_timeout_ms=self.busy_timeout_ms)
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            store.create(conn)
            self.hmac_key = _check_key(conn, key, source, self.db_path)
            st = os.stat(self.db_path)
            self._db_ident = (st.st_dev, st.st_ino)
            if key:
                self._open_head(conn, key, source)
            else:
                self._last = chain_head(conn)
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

    def _open_head(self, conn: sqlite3.Connection, key: bytes, source: str) -> None:
        """Check the database against its signed head (refusing one that was cut, rewritten or replaced
        while the gateway was stopped), then sign the current chain head."""
        m = store.meta(conn)
        had_id = "db_id" in m
        found = head_mod.read(self.head_path, key)
        problem = head_mod.compare(conn, found, m, self.head_path)
        if problem is None and found.status == "missing" and chain_head(conn)[0] > 0:
            # Rows but no head, and nothing inside the file says there was one. Signing it as it is is right
            # only for a database from before signed heads, opened for the first time: the key file is being
            # created right now, or (explicit key) no signing gateway ever gave it an id. Otherwise the head
            # (and the marker) were deleted, most likely to hide a cut: refuse.
            adopt = source == "created" or (source in ("env", "argument") and not had_id)
            if not adopt:
                problem = ("head_missing", None, f"it has rows but its signed head {self.head_path} is missing "
                                                 "(deleted?), so a cut or a rewrite cannot be ruled out")
        if problem:
            kind, _seq, text = problem
            fix = ("use the original key (KEEPTRUSTS_AUDIT_HMAC_KEY) or keep" if kind == "wrong_key" else "keep")
            raise AuditError(f"audit db {self.db_path}: {text}; {fix} {self.db_path} and {self.head_path} as "
                             f"evidence (kt audit verify --db {self.db_path} says what changed) and move both away "
                             "to start a new audit trail")
        db_id = _db_id(conn)          # only once the database passed: a refused start leaves it as it was
        conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('head', 'signed')")
        seq, last_hash = chain_head(conn)
        self._head = head_mod.HeadFile(self.head_path, key, db_id, m.get("hash_alg") or "sha256")
        self._head.write(seq, last_hash)
        self._last = (seq, last_hash)

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
        if self._head is not None:
            self._head.close()

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

    def _check_files(self) -> None:
        """Before a commit: the files are still the ones we opened (a stat each, ~2 us)."""
        if self._tampered:
            raise AuditTampered(self._tampered)
        try:
            st = os.stat(self.db_path)
            moved = (st.st_dev, st.st_ino) != self._db_ident
        except FileNotFoundError:
            moved = None
        if moved is None or moved:
            what = "deleted" if moved is None else "replaced by another file"
            self._tampered = (f"audit db {self.db_path} was {what} while the gateway runs (rows up to seq "
                              f"{self._last[0]} were in the old file): nothing more can be recorded there, so "
                              "requests are refused; restart the gateway to start a new audit trail")
        elif self._head is not None and not self._head.still_in_place():
            self._tampered = (f"the signed head {self.head_path} of audit db {self.db_path} was deleted or "
                              "replaced while the gateway runs; requests are refused until a restart")
        if self._tampered:
            raise AuditTampered(self._tampered)

    def _check_chain(self, seq: int, prev: str) -> None:
        """Inside the write lock: the chain only grows. Fewer rows, or another row at our last seq,
        means someone cut or rewrote it under us."""
        last_seq, last_hash = self._last
        if seq < last_seq or (seq == last_seq and prev != last_hash):
            self._tampered = (f"audit db {self.db_path} was cut while the gateway runs: it ends at seq {seq}, "
                              f"we last wrote seq {last_seq}; requests are refused; keep the file as evidence "
                              "(kt audit verify) and restart the gateway")
            raise AuditTampered(self._tampered)

    def _commit(self, prepared: list) -> None:
        conn = self._conn
        new_items: dict[str, str] = {}
        for _fut, _row, item_texts in prepared:
            new_items.update(item_texts)
        self._check_files()
        try:
            conn.execute("BEGIN IMMEDIATE")
            # The head is read inside the write lock: `kt audit rotate` (or a second gateway on the
            # same file) may have appended rows since our last batch.
            seq, prev = chain_head(conn)
            self._check_chain(seq, prev)
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
        self._last = (seq, prev)
        head_error = None
        if self._head is not None:
            # After the commit: a crash in between leaves the head one batch behind (verify notes it),
            # never ahead of rows that are not there.
            try:
                self._head.write(seq, prev)
            except OSError as exc:     # the rows are committed: their futures still succeed
                head_error = (f"cannot update the signed head {self.head_path}: {exc} (free disk space / "
                              "check permissions)")
                log.error(head_error)
        self.rows_written += len(prepared)
        if head_error:
            self.healthy, self.last_error = False, head_error
        else:
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
        if isinstance(exc, AuditTampered):
            msg = str(exc)
            if self.last_error != msg:
                log.error(msg)
            self.healthy, self.last_error = False, msg
        elif storage_problem:
            self.healthy = False
            self.last_error = msg + " (free disk space / check permissions / stop the process holding the lock)"
            log.error(self.last_error)
        for fut, _row, _ in prepared:
            if not fut.done():
                fut.set_exception(AuditError(msg))

