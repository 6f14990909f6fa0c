"""The control-plane outbox: events and spend sent in batches, nothing lost in an outage.

Enabled when KEEPTRUSTS_API_URL and KEEPTRUSTS_GATEWAY_TOKEN are set. The outbox is durable
because it is the audit table itself: the `outbox` table holds, per stream (`events`, `spend`),
the last `seq` the control plane acknowledged (HTTP 2xx). A sender thread POSTs the rows after
it, oldest first, to `$KEEPTRUSTS_API_URL/v1/events` and `/v1/spend/log` with the bearer token,
then moves the cursor. An outage (refused, timeout, 5xx, any non-2xx) keeps the cursor and
retries with backoff; a gateway restart resumes from the cursor. Each batch carries an
`Idempotency-Key` (stream and seq range) and every event its unique id, so a batch resent after
a crash between the POST and the cursor update can be recognised.
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from . import store
from .queries import event_json
from .rows import decode, now_iso

log = logging.getLogger(__name__)
STREAMS = {"events": "/v1/events", "spend": "/v1/spend/log"}


@dataclass
class ControlPlaneConfig:
    api_url: str
    token: str
    gateway_id: str | None = None
    batch_size: int = 200
    interval_s: float = 2.0          # how often to look for new rows when idle
    timeout_s: float = 10.0
    max_backoff_s: float = 60.0

    @classmethod
    def from_env(cls, env=None) -> "ControlPlaneConfig | None":
        env = os.environ if env is None else env
        url, token = env.get("KEEPTRUSTS_API_URL"), env.get("KEEPTRUSTS_GATEWAY_TOKEN")
        if not url or not token:
            return None
        return cls(url.rstrip("/"), token, env.get("KEEPTRUSTS_GATEWAY_ID") or None)


def spend_entry(row: dict) -> dict:
    return {"event_id": row["id"], "timestamp": row["timestamp"], "user_id": row["developer"],
            "developer": row["developer"], "key_fingerprint": row["key_fingerprint"], "model": row["model"],
            "provider": row["provider"], "target_id": row["target_id"], "input_tokens": row["input_tokens"] or 0,
            "cached_input_tokens": row["cached_input_tokens"] or 0, "output_tokens": row["output_tokens"] or 0,
            "reasoning_tokens": row["reasoning_tokens"] or 0, "cost_usd": row["cost_usd"] or 0.0}


class OutboxSender:
    def __init__(self, db_path: str | Path, cfg: ControlPlaneConfig):
        self.db_path = Path(db_path)
        self.cfg = cfg
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None
        self.sent = {name: 0 for name in STREAMS}

    def init_cursors(self, conn: sqlite3.Connection) -> None:
        """First run with a control plane: start after the rows already there (called before any write)."""
        head = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
        conn.executemany("INSERT OR IGNORE INTO outbox (name, last_seq, updated) VALUES (?, ?, ?)",
                         [(name, head, now_iso()) for name in STREAMS])

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="keeptrusts-outbox", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 5) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)

    # -- thread --------------------------------------------------------------------------------
    def _run(self) -> None:
        conn = store.connect(self.db_path, busy_timeout_ms=5000)
        conn.row_factory = sqlite3.Row
        backoff = 0.0
        try:
            while True:
                try:
                    more = any([self._pump(conn, name) for name in STREAMS])
                    backoff = 0.0
                    self.last_error = None
                except Exception as exc:      # outage: keep the cursor, back off
                    self.last_error = f"control plane {self.cfg.api_url}: {exc}"
                    backoff = min(self.cfg.max_backoff_s, max(backoff * 2, self.cfg.interval_s))
                    log.warning("%s (retrying in %.1fs)", self.last_error, backoff)
                    self._note_error(conn)
                    more = False
                if self._stop.is_set():
                    break                     # one last pass was just made
                if not more:
                    self._stop.wait(backoff or self.cfg.interval_s)
        finally:
            conn.close()

    def _note_error(self, conn: sqlite3.Connection) -> None:
        try:
            conn.execute("UPDATE outbox SET last_error = ?, updated = ?", (self.last_error, now_iso()))
        except sqlite3.Error:
            pass

    def _pump(self, conn: sqlite3.Connection, name: str) -> bool:
        """Send one batch of stream `name`; True if there may be more."""
        cur = conn.execute("SELECT last_seq FROM outbox WHERE name = ?", (name,)).fetchone()
        if cur is None:
            self.init_cursors(conn)
            return True
        rows = [decode(dict(r)) for r in conn.execute(
            "SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (cur[0], self.cfg.batch_size))]
        if not rows:
            return False
        decisions = [r for r in rows if r["event_type"] != "anchor"]
        if decisions:
            if name == "events":
                body = {"gateway_id": self.cfg.gateway_id, "events": [event_json(r) for r in decisions]}
            else:
                body = {"gateway_id": self.cfg.gateway_id, "entries": [spend_entry(r) for r in decisions]}
            self._post(STREAMS[name], body, f"{name}-{rows[0]['seq']}-{rows[-1]['seq']}")
        conn.execute("UPDATE outbox SET last_seq = ?, updated = ?, last_error = NULL WHERE name = ?",
                     (rows[-1]["seq"], now_iso(), name))
        self.sent[name] += len(decisions)
        return len(rows) == self.cfg.batch_size

    def _post(self, path: str, body: dict, idempotency_key: str) -> None:
        req = urllib.request.Request(
            self.cfg.api_url + path, data=json.dumps(body).encode("utf-8"), method="POST",
            headers={"Authorization": f"Bearer {self.cfg.token}", "Content-Type": "application/json",
                     "Idempotency-Key": idempotency_key, "User-Agent": "keeptrusts-gateway"})
        try:
            with urllib.request.urlopen(req, timeout=self.cfg.timeout_s) as resp:
                resp.read()
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"POST {path} answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise RuntimeError(f"POST {path} failed: {getattr(exc, 'reason', exc)}") from None
