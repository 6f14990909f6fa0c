"""From the record the addon submits to an `events` row (without seq/prev_hash/row_hash)."""
from __future__ import annotations

import datetime as dt
import json
import secrets

from .. import pricing
from . import items as items_mod
from .store import COLUMN_NAMES, normalise

# Record keys copied to a column of the same name.
DIRECT = ("id", "timestamp", "event_type", "mode", "transport", "client", "developer", "developer_source",
          "key_fingerprint", "method", "host", "path", "api", "model", "provider", "target_id",
          "config_name", "config_version", "session_id", "status", "verdict", "reason_code",
          "policies", "response_body", "output", "quality", "durations", "error", "bytes_in", "bytes_out")
CONSUMED = set(DIRECT) | {"request_body", "usage"}


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def new_event_id() -> str:
    return "evt_" + secrets.token_hex(12)


def build(record: dict, pricing_overrides: dict | None = None) -> tuple[dict, dict[str, str]]:
    """(row, {item hash: item text}) for one record. Never raises on missing keys."""
    row: dict = {k: record.get(k) for k in DIRECT}
    row["id"] = row["id"] or new_event_id()
    row["timestamp"] = row["timestamp"] or now_iso()
    row["event_type"] = row["event_type"] or "decision"
    policies = record.get("policies") or []
    flagged = [p.get("policy") for p in policies if isinstance(p, dict) and p.get("verdict") not in (None, "allow")]
    row["flagged_by"] = ("," + ",".join(str(p) for p in flagged) + ",") if flagged else None

    fmt, skeleton, order, item_texts = items_mod.split(record.get("request_body"))
    row["request_format"], row["request_skeleton"] = fmt, skeleton
    row["item_hashes"] = order or None

    usage = record.get("usage") or None
    if usage is not None and not isinstance(usage, dict):      # a Usage dataclass
        usage = getattr(usage, "__dict__", None) or None
    if usage:
        for k in ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens"):
            row[k] = int(usage.get(k) or 0)
    target_pricing = None
    if pricing_overrides:
        target_pricing = pricing_overrides.get(record.get("target_id")) or pricing_overrides.get("*")
    row["cost_usd"], row["price_source"] = pricing.cost_usd(record.get("model"), usage, target_pricing,
                                                            record.get("target_id"))
    durations = record.get("durations") or {}
    row["total_ms"] = durations.get("total_ms") if isinstance(durations, dict) else None
    extra = {k: v for k, v in record.items() if k not in CONSUMED}
    row["extra"] = extra or None
    return {c: normalise(c, row.get(c)) for c in COLUMN_NAMES if c not in ("seq", "prev_hash", "row_hash")}, item_texts


def decode(row: dict) -> dict:
    """JSON columns of a stored row back to Python values (for queries and export)."""
    out = dict(row)
    for c in ("policies", "output", "durations", "extra", "item_hashes"):
        if isinstance(out.get(c), str):
            try:
                out[c] = json.loads(out[c])
            except ValueError:
                pass
    return out
