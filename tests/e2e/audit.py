"""Read the gateway's audit database the way a test wants it: one dict per event row."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path


def events(db: Path) -> list[dict]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    try:
        rows = [dict(r) for r in con.execute("select * from events order by seq")]
    finally:
        con.close()
    for r in rows:
        try:
            r["policies"] = json.loads(r["policies"] or "[]")
        except ValueError:
            pass
    return rows


def model_turns(rows: list[dict]) -> list[dict]:
    """Rows of exchanges that reached the model: /v1/responses, minus refused WebSocket upgrades."""
    return [r for r in rows if (r["path"] or "").endswith("/responses") and r["status"] != 426]
