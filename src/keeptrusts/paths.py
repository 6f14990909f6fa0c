"""Where the gateway keeps its state. One place, so every command agrees on the defaults.

- state dir: `$KEEPTRUSTS_HOME`, else `~/.keeptrusts` (audit database, redaction key, tokens)
- audit db:  `$KEEPTRUSTS_AUDIT_DB`, else `<state dir>/audit.db`
- audit key: `<state dir>/audit-hmac.key` (unless `$KEEPTRUSTS_AUDIT_HMAC_KEY`); head: `<audit db>-head`
- certs:     `$KEEPTRUSTS_CERTS`, else `certs/` of the source checkout when running from one,
             else `<state dir>/certs` (mitmproxy confdir: the CA is generated there on first run)
- replays:   `mitmdump -nr FILE -s addons/keeptrusts.py` without an explicit keeptrusts_audit_db
             writes to a throwaway database (`audit_db_for`), never the user's audit trail
"""
from __future__ import annotations

import os
import tempfile
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


def is_replay(options) -> bool:
    """mitmproxy options of a replay: flows read from a file (`-r`) or no proxy server at all (`-n`)."""
    return bool(getattr(options, "rfile", None)) or not getattr(options, "server", True)


def audit_db_for(option_value: str, replay: bool) -> tuple[Path, str | None]:
    """The audit database to open, and a line to log about it (None: nothing to say).

    An explicit path (`--audit-db`, `--set keeptrusts_audit_db=`) always wins. A replay without one
    gets a fresh database in a temporary folder: recorded or fake exchanges must not land in the
    user's audit trail (they would show in `kt costs` and the report). $KEEPTRUSTS_AUDIT_DB does not
    count as explicit here, since it is typically the user's real trail set once in their shell.
    """
    if option_value:
        return Path(option_value), None
    if not replay:
        return audit_db(), None
    db = Path(tempfile.mkdtemp(prefix="keeptrusts-replay-")) / "audit.db"
    return db, (f"keeptrusts: replaying flows, so the audit goes to a throwaway database {db}, not {audit_db()}; "
                "pass --set keeptrusts_audit_db=PATH to keep it elsewhere")
