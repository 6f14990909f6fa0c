"""The memory of blocked items: a block ends a turn, never the session.

Codex over SSE resends its whole history every turn, so a tool output the gateway blocked once would
be blocked again on every later prompt, and the session would be dead. Instead the gateway remembers
what it blocked, by content (SHA-256 of the text, `audit.chain.item_hash`, the content address the
audit's item store uses), and when a later request carries the same text, the text is replaced in
place by a short stub naming the policy and the original event:

    [removed by Keeptrusts: prompt-injection, evt_0123...]

The rest of the turn is judged as usual. The blocked text itself never leaves. A policy's option
`on_blocked_history: block` keeps the old behaviour (the item is judged again and blocks again).

Stored in a small SQLite file beside the audit database (`<audit db stem>-blocked-items.sqlite`),
so it survives restarts and its event ids name rows of that audit trail. Bounded (MAX_ITEMS, oldest
forgotten first). Scoped per developer when the gateway knows who is calling, else per session, so
one developer's blocks are never visible in another's requests.

Cost per turn: nothing while a scope has no blocked items; otherwise the segments' lengths are matched
against the remembered ones (in C), a segment of a matching length is probed by a hash of its first and
last 64 characters, and only a probe hit pays for SHA-256 over the whole text (Codex truncates tool
outputs to the same length, so equal lengths are common). scripts/bench_blocked_items.py measures it.
"""
from __future__ import annotations

import hashlib
import json
import logging
import operator
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .audit.chain import item_hash
from .exchange import TOOL_CALL_ARGS, USER, Segment
from .verdicts import REDACT, Finding, Verdict

log = logging.getLogger("keeptrusts")

MAX_ITEMS = 10_000
_TEXT = operator.attrgetter("text")
STUB_MODE, BLOCK_MODE = "stub", "block"
MODES = (STUB_MODE, BLOCK_MODE)
POLICY = "blocked-history"            # the verdict that records stubbed segments in the audit row
REASON = "blocked_history_removed"
CONTINUE_HINT = ("The blocked content is removed from this session: your next prompt continues without it "
                 "(the gateway sends a short stub in its place).")


def stub_text(policy: str, event_id: str) -> str:
    return f"[removed by Keeptrusts: {policy}, {event_id}]"


def db_path_for(audit_db: str | os.PathLike) -> Path:
    p = Path(audit_db)
    return p.with_name(f"{p.stem}-blocked-items.sqlite")


def scope_of(developer: str | None, session_id: str | None) -> str:
    if developer:
        return "dev:" + developer
    if session_id:
        return "session:" + str(session_id)
    return "-"


@dataclass(frozen=True)
class Entry:
    hash: str
    length: int
    probe: str              # hash of the text's first and last 64 characters (cheap pre-check)
    policy: str
    event_id: str
    finding: str            # the finding type that blocked (e.g. instruction_override)
    created: float


def _item_index(path: tuple) -> int | None:
    """The history item a segment belongs to (`input[3]...` -> 3)."""
    for p in path:
        if isinstance(p, int):
            return p
    return None


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _probe(text: str) -> str:
    return hashlib.blake2b((text[:64] + "\0" + text[-64:]).encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def _last_item(segments: list[Segment]) -> int | None:
    return max((i for s in segments if (i := _item_index(s.path)) is not None), default=None)


class BlockedItems:
    """Blocked texts by scope and content hash, in memory with a SQLite copy (None: memory only)."""

    def __init__(self, path: str | os.PathLike | None = None, max_items: int = MAX_ITEMS):
        self.path = Path(path) if path else None
        self.max_items = max_items
        self._items: dict[str, dict[str, Entry]] = {}      # scope -> hash -> entry
        self._lengths: dict[str, dict[int, int]] = {}      # scope -> text length -> how many entries
        self._probes: dict[str, set[tuple[int, str]]] = {}  # scope -> (length, probe) of its entries
        self._count = 0
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        if self.path is not None:
            try:
                self._open()
            except (sqlite3.Error, OSError) as exc:
                # Without the file the memory lasts for this run only; blocks still happen as before.
                log.error("keeptrusts: blocked-items memory %s unavailable (%s); remembering in memory only. "
                          "Fix its permissions or delete the file.", self.path, exc)
                self._conn = None

    # ------------------------------------------------------------------ storage
    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self.path), timeout=5, isolation_level=None, check_same_thread=False)
        # A block writes one row on the event loop: WAL without a sync per commit keeps that sub-millisecond
        # (a crash may lose the newest rows: those items are then blocked again, as before).
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        cols = {r[1] for r in conn.execute("PRAGMA table_info(blocked_items)")}
        if cols and "probe" not in cols:  # an earlier layout: a memory, not a record, so it starts over
            conn.execute("DROP TABLE blocked_items")
        conn.execute("CREATE TABLE IF NOT EXISTS blocked_items (scope TEXT NOT NULL, hash TEXT NOT NULL, "
                     "length INTEGER NOT NULL, probe TEXT NOT NULL, policy TEXT NOT NULL, event_id TEXT NOT NULL, finding TEXT, "
                     "created REAL NOT NULL, PRIMARY KEY (scope, hash))")
        try:
            os.chmod(self.path, 0o600)   # hashes only, but which developer was blocked when is private
        except OSError:
            pass
        rows = conn.execute("SELECT scope, hash, length, probe, policy, event_id, finding, created FROM blocked_items "
                            "ORDER BY created DESC LIMIT ?", (self.max_items,)).fetchall()
        for scope, h, n, probe, policy, event_id, finding, created in reversed(rows):
            self._add(scope, Entry(h, n, probe, policy, event_id, finding or "", created))
        self._conn = conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _add(self, scope: str, entry: Entry) -> bool:
        items = self._items.setdefault(scope, {})
        if entry.hash in items:
            return False
        items[entry.hash] = entry
        lengths = self._lengths.setdefault(scope, {})
        lengths[entry.length] = lengths.get(entry.length, 0) + 1
        self._probes.setdefault(scope, set()).add((entry.length, entry.probe))
        self._count += 1
        return True

    def _drop(self, scope: str, h: str) -> None:
        entry = self._items.get(scope, {}).pop(h, None)
        if entry is None:
            return
        self._count -= 1
        lengths = self._lengths[scope]
        lengths[entry.length] -= 1
        if not lengths[entry.length]:
            del lengths[entry.length]
        if not any(e.length == entry.length and e.probe == entry.probe for e in self._items[scope].values()):
            self._probes[scope].discard((entry.length, entry.probe))
        if not self._items[scope]:
            del self._items[scope], self._lengths[scope], self._probes[scope]

    def _evict(self) -> list[tuple[str, str]]:
        """Forget the oldest entries beyond the bound; returns what to delete on disk."""
        if self._count <= self.max_items:
            return []
        everything = sorted(((e.created, scope, h) for scope, items in self._items.items() for h, e in items.items()))
        gone = [(scope, h) for _, scope, h in everything[: self._count - self.max_items]]
        for scope, h in gone:
            self._drop(scope, h)
        return gone

    # ------------------------------------------------------------------ the two operations
    def lookup(self, scope: str, text: str) -> Entry | None:
        lengths = self._lengths.get(scope)
        if not lengths or len(text) not in lengths:
            return None
        if (len(text), _probe(text)) not in self._probes.get(scope, ()):
            return None
        return self._items.get(scope, {}).get(item_hash(text))

    def remember(self, scope: str, text: str, policy: str, event_id: str, finding: str = "") -> Entry:
        """Remember one blocked text; an already remembered text keeps its first (original) event."""
        h = item_hash(text)
        with self._lock:
            old = self._items.get(scope, {}).get(h)
            if old is not None:
                return old
            entry = Entry(h, len(text), _probe(text), policy, event_id, finding, time.time())
            self._add(scope, entry)
            gone = self._evict()
            if self._conn is not None:
                try:
                    self._conn.execute("INSERT OR IGNORE INTO blocked_items VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                       (scope, h, entry.length, entry.probe, policy, event_id, finding,
                                        entry.created))
                    if gone:
                        self._conn.executemany("DELETE FROM blocked_items WHERE scope = ? AND hash = ?", gone)
                except sqlite3.Error as exc:  # the memory still works for this run; say why it will not last
                    log.error("keeptrusts: cannot store a blocked item in %s: %s", self.path, exc)
            return entry

    def __len__(self) -> int:
        return self._count

    def scope_size(self, scope: str) -> int:
        return len(self._items.get(scope, {}))


# ---------------------------------------------------------------------- the turn pipeline's two steps

def mode_of(chain, policy: str) -> str:
    """`on_blocked_history` of the policy that blocked (stub unless the config says block)."""
    config = getattr(chain, "config", None)
    options = (getattr(config, "policy_options", None) or {}).get(policy) or {}
    mode = options.get("on_blocked_history", STUB_MODE)
    return mode if mode in MODES else STUB_MODE


def stub_known(store: BlockedItems | None, scope: str, segments: list[Segment], chain) -> Verdict | None:
    """Before the chain runs: replace every segment whose text was blocked before by a stub.

    The newest user message (a user retyping what was blocked) is judged as usual, so the user is told
    again rather than the model silently getting a stub. Returns the verdict recording what was
    replaced (verdict `redact`, one finding per segment with the original event as evidence), or None."""
    if store is None or not store.scope_size(scope):
        return None
    # The per-turn cost: the segments' lengths against the remembered ones, in C (no hashing, no Python
    # loop over a 500 KB history unless a length matches).
    lens = list(map(len, map(_TEXT, segments)))
    hit = (store._lengths.get(scope) or {}).keys() & set(lens)
    if not hit:
        return None
    findings = []
    for seg, n in zip(segments, lens):
        if n not in hit:
            continue
        entry = store.lookup(scope, seg.text)
        if entry is None or mode_of(chain, entry.policy) != STUB_MODE:
            continue
        if seg.kind == USER and _item_index(seg.path) in (_last_item(segments), None):
            continue
        stub = stub_text(entry.policy, entry.event_id)
        # Tool-call arguments that were JSON stay JSON (a JSON string), so the history still parses upstream.
        seg.text = json.dumps(stub) if seg.kind == TOOL_CALL_ARGS and _is_json(seg.original) else stub
        findings.append(Finding(entry.finding or "blocked_before", REDACT, seg.where, rule=entry.policy,
                                evidence=entry.event_id))
    if not findings:
        return None
    events = sorted({f.evidence for f in findings})
    return Verdict(POLICY, REDACT, REASON,
                   f"{len(findings)} item(s) blocked before were replaced by a stub (original block: "
                   f"{', '.join(events)})", "input", findings)


def blocked_segments(verdict: Verdict, segments: list[Segment]) -> list[tuple[Segment, str]]:
    """The segments a blocking verdict names in its findings' `where` (a finding's location may carry a
    note after a space: `input[2].output (exec_command output, file README.md)`)."""
    found = [f for f in verdict.findings if f.where and f.action == "block"] or \
        [f for f in verdict.findings if f.where]
    out = []
    for seg in segments:
        w = seg.where
        hit = next((f for f in found if f.where == w or f.where.startswith(w + " ")), None)
        if hit is not None:
            out.append((seg, hit.type))
    return out


def remember_block(store: BlockedItems | None, scope: str, verdict: Verdict, segments: list[Segment],
                   chain, event_id: str | None) -> bool:
    """After a block: remember the blocked segments (their text as the client sent it). True when the
    next request continues without them (the policy's mode is stub), so the block message can say so."""
    if store is None or not event_id or verdict.policy in ("gateway", POLICY):
        return False
    hits = blocked_segments(verdict, segments)
    for seg, finding in hits:
        if seg.original:
            store.remember(scope, seg.original, verdict.policy, event_id, finding)
    return bool(hits) and mode_of(chain, verdict.policy) == STUB_MODE
