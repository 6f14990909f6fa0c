"""`kt audit verify` and `kt audit rotate`: check and prune the tamper-evident audit trail."""
from __future__ import annotations

import json
import sys

import click

from ..audit import AuditError, key_from_env
from ..audit.queries import QueryError, parse_duration
from ..audit.rotate import rotate as rotate_db
from ..audit.verify import KeyProblem, verify as verify_db, verify_with_archives
from ._audit_common import db_option, resolve_db


@click.group()
def audit() -> None:
    """Verify and rotate the audit trail."""


@audit.command()
@db_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
@click.option("--no-head", "no_head", is_flag=True,
              help="Do not compare with the signed head file beside the database (a copy verified elsewhere)")
@click.option("--archives", is_flag=True,
              help="Also verify every archive the live chain's anchor rows name, and that they link up")
def verify(db: str | None, as_json: bool, no_head: bool, archives: bool) -> None:
    """Recompute the hash chain and check it against its signed head; report the first problem.

    Prints "OK <n> rows" and exits 0. Otherwise names what is wrong and where: an edited row or history
    item, a missing range of rows, a truncated tail (rows cut from the end, even with sqlite_sequence
    rewound), a rewritten chain, a replaced database or a missing/forged head; exit 1. Exit 3 when the key
    cannot check it (wrong or missing key). The key is KEEPTRUSTS_AUDIT_HMAC_KEY, else the state dir's
    audit-hmac.key. Works on archives written by `kt audit rotate` too.
    """
    path = resolve_db(db)
    try:
        if archives:
            results = verify_with_archives(path, check_head=not no_head)
        else:
            results = [verify_db(path, check_head=not no_head)]
    except KeyProblem as exc:
        if as_json:
            click.echo(json.dumps({"ok": False, "db": str(path), "error": {"kind": exc.kind, "problem": str(exc)}},
                                  indent=2))
        else:
            click.echo(f"Error: {exc} [{exc.kind}]", err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:
        raise click.ClickException(f"cannot verify {path}: {exc}") from None
    if as_json:
        out = [r.to_dict() for r in results]
        click.echo(json.dumps(out[0] if len(out) == 1 else out, indent=2))
    else:
        for res in results:
            click.echo(res.render())
            for note in res.notes:
                click.echo(f"note: {note}")
    sys.exit(max(r.exit_code for r in results))


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
