"""Reading the audit database: filters for `kt events`, `kt costs`, the report and budgets.

Readers open the file read-only in WAL mode, so they never block the gateway's writer (and the
writer never blocks them: they read the last committed snapshot).
"""
from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from pathlib import Path

import orjson

from . import items as items_mod
from . import store
from .rows import decode

_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class QueryError(ValueError):
    pass


def parse_duration(text: str) -> dt.timedelta:
    m = _DURATION.match(text.strip())
    if not m:
        raise QueryError(f"bad duration {text!r}: use a number and a unit, e.g. 30s, 5m, 1h, 7d, 2w")
    return dt.timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_time(text: str, now: dt.datetime | None = None) -> str:
    """`5m` / `1h` / `7d` (ago) or an RFC 3339 time -> the ISO UTC string stored in `timestamp`."""
    now = now or dt.datetime.now(dt.timezone.utc)
    text = text.strip()
    if text == "now":
        return iso(now)
    if _DURATION.match(text):
        return iso(now - parse_duration(text))
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(f"bad time {text!r}: use 5m, 1h, 24h, 7d or an RFC 3339 time like "
                         "2026-11-25T13:00:00Z") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return iso(t)


class EventStore:
    def __init__(self, db_path: str | Path):
        self.db_path = Path(db_path)
        if not self.db_path.exists():
            raise FileNotFoundError(str(self.db_path))
        self.conn = store.connect(self.db_path, readonly=True)
        self.conn.row_factory = sqlite3.Row

    def close(self) -> None:
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- events ------------------------------------------------------------------------------
    def select(self, *, since: str | None = None, until: str | None = None, verdicts: tuple = (),
               policy: str | None = None, developer: str | None = None, after_seq: int | None = None,
               limit: int | None = None, newest: bool = False, decisions_only: bool = True) -> list[dict]:
        where, args = [], []
        if decisions_only:
            where.append("event_type != 'anchor'")
        if since:
            where.append("timestamp >= ?"); args.append(since)
        if until:
            where.append("timestamp <= ?"); args.append(until)
        if verdicts:
            where.append(f"verdict IN ({', '.join('?' for _ in verdicts)})"); args += list(verdicts)
        if policy:
            where.append("flagged_by LIKE ?"); args.append(f"%,{policy},%")
        if developer:
            where.append("developer = ?"); args.append(developer)
        if after_seq is not None:
            where.append("seq > ?"); args.append(after_seq)
        sql = "SELECT * FROM events" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY seq DESC" if newest else " ORDER BY seq"
        if limit:
            sql += f" LIMIT {int(limit)}"
        rows = [decode(dict(r)) for r in self.conn.execute(sql, args)]
        return rows[::-1] if newest else rows

    def get(self, event_id: str, with_body: bool = False) -> dict | None:
        r = self.conn.execute("SELECT * FROM events WHERE id = ? OR id = ?", (event_id, f"evt_{event_id}")).fetchone()
        if r is None and re.fullmatch(r"[0-9a-f]{4,}", event_id.removeprefix("evt_")):
            hits = self.conn.execute("SELECT * FROM events WHERE id LIKE ? LIMIT 2",
                                     (f"evt_{event_id.removeprefix('evt_')}%",)).fetchall()
            r = hits[0] if len(hits) == 1 else None
        if r is None:
            return None
        row = decode(dict(r))
        if with_body:
            row["request_body"] = items_mod.join(row["request_format"], row["request_skeleton"], self.item)
        return row

    def count_prefix(self, event_id: str) -> int:
        prefix = event_id if event_id.startswith(("evt_", "anc_")) else f"evt_{event_id}"
        return self.conn.execute("SELECT COUNT(*) FROM events WHERE id LIKE ?", (prefix + "%",)).fetchone()[0]

    def item(self, h: str) -> str | None:
        r = self.conn.execute("SELECT body FROM items WHERE hash = ?", (h,)).fetchone()
        return r[0] if r else None

    def last_seq(self) -> int:
        return self.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]

    # -- spend -------------------------------------------------------------------------------
    def spend(self, by: str, since: str | None = None, until: str | None = None) -> list[dict]:
        key = {"developer": "COALESCE(developer, '(unknown)')", "model": "COALESCE(model, '(unknown)')",
               "day": "substr(timestamp, 1, 10)", "provider": "COALESCE(provider, '(unknown)')"}[by]
        where, args = ["event_type = 'decision'"], []
        if since:
            where.append("timestamp >= ?"); args.append(since)
        if until:
            where.append("timestamp <= ?"); args.append(until)
        sql = (f"SELECT {key} AS key, COUNT(*) AS requests, COALESCE(SUM(input_tokens),0) AS input_tokens, "
               "COALESCE(SUM(cached_input_tokens),0) AS cached_input_tokens, "
               "COALESCE(SUM(output_tokens),0) AS output_tokens, "
               "COALESCE(SUM(reasoning_tokens),0) AS reasoning_tokens, COALESCE(SUM(cost_usd),0) AS cost_usd, "
               "SUM(verdict = 'block') AS blocked "
               f"FROM events WHERE {' AND '.join(where)} GROUP BY key ORDER BY "
               + ("key" if by == "day" else "cost_usd DESC, key"))
        return [dict(r) for r in self.conn.execute(sql, args)]

    def spend_of(self, developer: str, since: str) -> float:
        r = self.conn.execute("SELECT COALESCE(SUM(cost_usd), 0) FROM events WHERE developer = ? AND timestamp >= ?",
                              (developer, since)).fetchone()
        return float(r[0])

    def daily_by_developer(self, since: str | None = None) -> list[dict]:
        sql = ("SELECT substr(timestamp,1,10) AS day, COALESCE(developer,'(unknown)') AS developer, "
               "COALESCE(SUM(cost_usd),0) AS cost_usd, COUNT(*) AS requests FROM events "
               "WHERE event_type = 'decision'" + (" AND timestamp >= ?" if since else "") +
               " GROUP BY day, developer ORDER BY day, developer")
        return [dict(r) for r in self.conn.execute(sql, [since] if since else [])]

    def verdict_counts(self, since: str | None = None) -> dict[str, int]:
        sql = ("SELECT verdict, COUNT(*) FROM events WHERE event_type = 'decision'"
               + (" AND timestamp >= ?" if since else "") + " GROUP BY verdict")
        return {v or "(none)": n for v, n in self.conn.execute(sql, [since] if since else [])}


    # -- the team lead's view (kt report) --------------------------------------------------------
    def acted_rows(self, since: str | None = None) -> list[dict]:
        """Decisions where at least one policy did not allow, with what the report needs to tell
        a new finding from one re-found in history Codex resent."""
        sql = ("SELECT id, timestamp, developer, key_fingerprint, session_id, verdict, policies, request_format, "
               "request_skeleton FROM events WHERE event_type = 'decision' AND flagged_by IS NOT NULL"
               + (" AND timestamp >= ?" if since else "") + " ORDER BY seq")
        return [decode(dict(r)) for r in self.conn.execute(sql, [since] if since else [])]

    def developer_counts(self, since: str | None = None) -> list[dict]:
        """Requests, blocks, redacts and spend per raw developer value (a name or a kf_ fingerprint)."""
        sql = ("SELECT COALESCE(developer, key_fingerprint, '(unknown)') AS key, COUNT(*) AS requests, "
               "SUM(verdict = 'block') AS blocked, SUM(verdict = 'redact') AS redacted, "
               "COALESCE(SUM(cost_usd), 0) AS cost_usd FROM events WHERE event_type = 'decision'"
               + (" AND timestamp >= ?" if since else "") + " GROUP BY key")
        return [dict(r) for r in self.conn.execute(sql, [since] if since else [])]

    def fingerprints_seen(self) -> dict[str, set[str]]:
        """{kf_ fingerprint: names it was used under}, for callers a rule named (token, header, proxy auth)."""
        out: dict[str, set[str]] = {}
        for fp, dev in self.conn.execute(
                "SELECT DISTINCT key_fingerprint, developer FROM events WHERE key_fingerprint IS NOT NULL "
                "AND developer IS NOT NULL AND developer != key_fingerprint"):
            out.setdefault(fp, set()).add(dev)
        return out

    def history_item(self, row: dict, where: str | None, cache: dict) -> str | None:
        """The content hash of the history item a finding's `where` (`input[3].output`) points at, so
        an item found again when Codex resends it on the next turn is recognised."""
        m = _WHERE_ITEM.match(where or "")
        if not m or row.get("request_format") != items_mod.FORMAT or not row.get("request_skeleton"):
            return None
        skel = cache.get(row["id"])
        if skel is None:
            try:
                skel = cache[row["id"]] = orjson.loads(row["request_skeleton"])
            except orjson.JSONDecodeError:
                return None
        ref, i = skel.get(m.group(1)), int(m.group(2))
        if not isinstance(ref, dict):
            return None
        if "$kt_items" in ref:
            hashes = ref["$kt_items"]
        elif "$kt_chunks" in ref and i // items_mod.CHUNK < len(ref["$kt_chunks"]):
            chunk = ref["$kt_chunks"][i // items_mod.CHUNK]
            if chunk not in cache:
                cache[chunk] = orjson.loads(self.item(chunk) or "[]")
            hashes, i = cache[chunk], i % items_mod.CHUNK
        else:
            return None
        return hashes[i] if i < len(hashes) else None


_WHERE_ITEM = re.compile(r"^(input|messages)\[(\d+)\]")


def fingerprint_names(tokens_path: str | Path | None = None, key_names: dict | None = None,
                      seen: dict[str, set[str]] | None = None) -> dict[str, str]:
    """{kf_ fingerprint: developer name}: from `identity.key_fingerprints` of a config, from the
    tokens table (a gateway token's fingerprint is kf_ + the first 12 hex of its stored SHA-256),
    and from the audit trail itself when a key was only ever used under one name. First wins."""
    from ..identity import TokenStore
    names: dict[str, str] = dict(key_names or {})
    store_ = TokenStore(tokens_path)
    if store_.path.exists():
        for token_hash, (name, _exp, _rev) in store_.table().items():
            names.setdefault("kf_" + token_hash[:12], name)
    for fp, devs in (seen or {}).items():
        if len(devs) == 1:
            names.setdefault(fp, next(iter(devs)))
    return names

def redactions(row: dict) -> list[dict]:
    """What was redacted: type, placeholder, where, by which policy. Never the value."""
    out = []
    for p in row.get("policies") or []:
        for f in p.get("findings") or []:
            out.append({"policy": p.get("policy"), "type": f.get("type"), "action": f.get("action"),
                        "where": f.get("where"), "placeholder": f.get("placeholder"), "rule": f.get("rule")})
    return out


def event_json(row: dict, *, with_body: bool = False) -> dict:
    """An event as the reference's decision event (section 4.1), plus identity, tokens and cost."""
    ev = {
        "id": row["id"], "event_type": row["event_type"], "timestamp": row["timestamp"],
        "verdict": row["verdict"], "reason_code": row["reason_code"],
        "model": row["model"], "provider": row["provider"], "target_id": row["target_id"],
        "config_name": row["config_name"], "config_version": row["config_version"],
        "user_id": row["developer"],
        "identity": {"developer": row["developer"], "source": row["developer_source"],
                     "key_fingerprint": row["key_fingerprint"], "client": row["client"]},
        "request": {"method": row["method"], "host": row["host"], "path": row["path"], "api": row["api"],
                    "mode": row["mode"], "transport": row["transport"], "session_id": row["session_id"],
                    "status": row["status"], "bytes_in": row["bytes_in"], "bytes_out": row["bytes_out"]},
        "tokens": {"input": row["input_tokens"], "cached_input": row["cached_input_tokens"],
                   "output": row["output_tokens"], "reasoning": row["reasoning_tokens"]},
        "input_tokens": row["input_tokens"], "output_tokens": row["output_tokens"],
        "cost_usd": row["cost_usd"], "price_source": row["price_source"],
        "latency_ms": row["total_ms"], "durations": row["durations"], "quality": row["quality"],
        "policies": row["policies"] or [], "redactions": redactions(row),
        "error": row["error"], "seq": row["seq"], "row_hash": row["row_hash"],
    }
    if row.get("event_type") == "anchor":
        ev["anchor"] = row.get("extra")
    if with_body:
        ev["request_body"] = row.get("request_body")
        ev["response_body"] = row.get("response_body")
        ev["output"] = row.get("output")
    return ev


CSV_FIELDS = ["id", "timestamp", "event_type", "verdict", "reason_code", "developer", "developer_source",
              "key_fingerprint", "model", "provider", "target_id", "config_name", "config_version", "method",
              "path", "api", "transport", "status", "input_tokens", "cached_input_tokens", "output_tokens",
              "reasoning_tokens", "cost_usd", "total_ms", "flagged_by", "policies", "session_id", "client",
              "error", "row_hash"]


def csv_row(row: dict) -> dict:
    out = {k: row.get(k) for k in CSV_FIELDS}
    out["flagged_by"] = (row.get("flagged_by") or "").strip(",").replace(",", ";")
    out["policies"] = json.dumps(row.get("policies") or [], separators=(",", ":"))
    return out
