"""Where the gateway keeps its state. One place, so every command agrees on the defaults.

- state dir: `$KEEPTRUSTS_HOME`, else `~/.keeptrusts` (audit database, redaction key, tokens)
- audit db:  `$KEEPTRUSTS_AUDIT_DB`, else `<state dir>/audit.db`
- audit key: `<state dir>/audit-hmac.key` (unless `$KEEPTRUSTS_AUDIT_HMAC_KEY`); head: `<audit db>-head`
- certs:     `$KEEPTRUSTS_CERTS`, else `certs/` of the source checkout when running from one,
             else `<state dir>/certs` (mitmproxy confdir: the CA is generated there on first run)
"""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def state_dir() -> Path:
    return Path(os.environ.get("KEEPTRUSTS_HOME") or Path.home() / ".keeptrusts")


def audit_db() -> Path:
    env = os.environ.get("KEEPTRUSTS_AUDIT_DB")
    return Path(env) if env else state_dir() / "audit.db"


def certs_dir() -> Path:
    env = os.environ.get("KEEPTRUSTS_CERTS")
    if env:
        return Path(env)
    if (PROJECT_ROOT / "pyproject.toml").exists() and (PROJECT_ROOT / "certs").is_dir():
        return PROJECT_ROOT / "certs"
    return state_dir() / "certs"


def audit_hmac_key() -> Path:
    """The audit chain's HMAC key (0600), generated at the gateway's first start unless
    KEEPTRUSTS_AUDIT_HMAC_KEY is set. Kept in the state dir, apart from the database it protects."""
    return state_dir() / "audit-hmac.key"


def audit_head(db: str | os.PathLike) -> Path:
    """The signed chain head kept beside an audit database (`audit.db` -> `audit.db-head`, like SQLite's
    `-wal`), so `kt audit verify` can tell a cut tail or a rewound sequence from an intact chain."""
    return Path(str(db) + "-head")
