"""Where the gateway keeps its state. One place, so every command agrees on the defaults.

- state dir: `$KEEPTRUSTS_HOME`, else `~/.keeptrusts` (audit database, redaction key, tokens)
- audit db:  `$KEEPTRUSTS_AUDIT_DB`, else `<state dir>/audit.db`
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
