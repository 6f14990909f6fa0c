"""`kt tokens create | list | revoke`: per-developer gateway tokens (stored hashed)."""
from __future__ import annotations

import json

import click

from ..audit.queries import QueryError, parse_duration
from ..identity import TokenError, TokenStore


def _db_option(f):
    return click.option("--db", "db", type=click.Path(dir_okay=False), default=None,
                        help="Tokens database [default: $KEEPTRUSTS_TOKENS_DB or ~/.keeptrusts/tokens.db]")(f)


@click.group()
def tokens() -> None:
    """Gateway tokens: one per developer, used as the API key in Codex."""


@tokens.command()
@click.argument("name")
@click.option("--expires-in", default=None, metavar="DURATION", help="e.g. 90d; default: no expiry")
@_db_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
def create(name: str, expires_in: str | None, db: str | None, as_json: bool) -> None:
    """Create a gateway token for developer NAME and print it (only this once).

    The developer sets it as their API key (CODEX_API_KEY=kt_gk_...); the gateway checks it,
    records their name on every exchange and sends the real provider key upstream.
    """
    store = TokenStore(db)
    try:
        ttl = parse_duration(expires_in) if expires_in else None
        token = store.create(name, ttl)
    except (TokenError, QueryError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps({"name": name, "token": token, "tokens_db": str(store.path)}))
        return
    click.echo(token)
    click.echo(f"Token for {name} created in {store.path}. It is shown only now: hand it to {name}, who sets\n"
               f"  export CODEX_API_KEY={token}", err=True)


@tokens.command("list")
@_db_option
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked and expired tokens")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
def list_(db: str | None, include_revoked: bool, as_json: bool) -> None:
    """List developers with tokens (names and prefixes; the tokens themselves are not stored)."""
    infos = TokenStore(db).list(include_revoked)
    if as_json:
        click.echo(json.dumps([{**t.__dict__, "status": t.status} for t in infos], indent=2))
        return
    if not infos:
        click.echo("No tokens. Create one with: kt tokens create NAME")
        return
    click.echo(f"{'NAME':20} {'PREFIX':16} {'STATUS':8} {'CREATED':21} EXPIRES")
    for t in infos:
        click.echo(f"{t.name:20} {t.prefix + '...':16} {t.status:8} {t.created:21} {t.expires or '-'}")


@tokens.command()
@click.argument("name")
@_db_option
def revoke(name: str, db: str | None) -> None:
    """Revoke NAME's token: the gateway refuses it within a second (401)."""
    try:
        n = TokenStore(db).revoke(name)
    except TokenError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Revoked {n} token{'s' if n != 1 else ''} of {name}")


def register(cli: click.Group) -> None:
    cli.add_command(tokens)
