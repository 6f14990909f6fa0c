"""`kt audit verify` and `kt audit rotate`: check and prune the tamper-evident audit trail."""
from __future__ import annotations

import json
import sys

import click

from ..audit import AuditError, key_from_env
from ..audit.queries import QueryError, parse_duration
from ..audit.rotate import rotate as rotate_db
from ..audit.verify import KeyProblem, verify as verify_db
from ._audit_common import db_option, resolve_db


@click.group()
def audit() -> None:
    """Verify and rotate the audit trail."""


@audit.command()
@db_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
def verify(db: str | None, as_json: bool) -> None:
    """Recompute the hash chain; report the first broken row.

    Prints "OK <n> rows" and exits 0, or names the first row that was edited, deleted, inserted or
    reordered (and any history item edited or missing) and exits 1. A keyed chain needs
    KEEPTRUSTS_AUDIT_HMAC_KEY. Works on archives written by `kt audit rotate` too.
    """
    path = resolve_db(db)
    try:
        res = verify_db(path, key_from_env())
    except KeyProblem as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:
        raise click.ClickException(f"cannot verify {path}: {exc}") from None
    if as_json:
        click.echo(json.dumps(res.to_dict(), indent=2))
    else:
        click.echo(res.render())
        for note in res.notes:
            click.echo(f"note: {note}")
    sys.exit(0 if res.ok else 1)


@audit.command()
@db_option
@click.option("--keep", default=None, metavar="DURATION",
              help="Keep rows newer than this (30d, 12w...) [default: the audit-logger's retention_days "
                   "from --policy-config, else 365d]")
@click.option("--policy-config", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Take the retention from this config's audit-logger block")
@click.option("--archive-dir", type=click.Path(file_okay=False), default=None,
              help="Where to write the archive [default: beside the database]")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
def rotate(db: str | None, keep: str | None, policy_config: str | None, archive_dir: str | None,
           as_json: bool) -> None:
    """Move rows older than --keep to a sealed archive file that verifies on its own.

    The live database keeps every newer row and gains an anchor row, so `kt audit verify` still
    passes on both files. Safe while the gateway runs (it waits a moment for the write lock).
    """
    path = resolve_db(db)
    if keep is None:
        days = 365
        if policy_config:
            from ..config import ConfigError, load_config
            try:
                cfg = load_config(policy_config)
            except ConfigError as exc:
                raise click.ClickException(exc.first_line()) from None
            days = int((cfg.policy_options.get("audit-logger") or {}).get("retention_days", 365))
        keep = f"{days}d"
    try:
        res = rotate_db(path, parse_duration(keep), key=key_from_env(), archive_dir=archive_dir)
    except QueryError as exc:
        raise click.ClickException(f"--keep: {exc}") from None
    except AuditError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(res.to_dict(), indent=2))
    elif not res.archived_rows:
        click.echo(f"Nothing older than {keep} in {path}")
    else:
        click.echo(f"Archived {res.archived_rows} rows (seq {res.first_seq}..{res.last_seq}) to {res.archive}")
        click.echo(f"Removed {res.items_removed} history items no longer used; live chain continues from an anchor row")


def register(cli: click.Group) -> None:
    cli.add_command(audit)
