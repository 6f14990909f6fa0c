"""Options and helpers shared by the commands that read the audit database."""
from __future__ import annotations

from pathlib import Path

import click

from .. import paths
from ..audit.queries import EventStore, QueryError, parse_time


def db_option(f):
    return click.option("--db", "db", type=click.Path(dir_okay=False), default=None,
                        help="Audit database [default: $KEEPTRUSTS_AUDIT_DB or ~/.keeptrusts/audit.db]")(f)


def resolve_db(db: str | None) -> Path:
    path = Path(db) if db else paths.audit_db()
    if not path.exists():
        raise click.ClickException(f"no audit database at {path}: start the gateway first "
                                   "(kt gateway run) or pass --db PATH")
    return path


def open_store(db: str | None) -> EventStore:
    path = resolve_db(db)
    try:
        return EventStore(path)
    except Exception as exc:
        raise click.ClickException(f"cannot read audit database {path}: {exc}") from None


def time_arg(value: str | None, flag: str) -> str | None:
    if value is None:
        return None
    try:
        return parse_time(value)
    except QueryError as exc:
        raise click.ClickException(f"{flag}: {exc}") from None
