"""`kt policy lint`: validate a policy-config.yaml exactly as the gateway would load it."""
from __future__ import annotations

import json
import sys

import click

from ..config import ConfigError, load_config


@click.group()
def policy() -> None:
    """Validate and test policy configs."""


@policy.command()
@click.option("--file", "-f", "file", default="policy-config.yaml", show_default=True,
              type=click.Path(dir_okay=False), help="The policy-config.yaml to check")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
def lint(file: str, as_json: bool) -> None:
    """Check a config: YAML syntax, shape, policy kinds, option keys and types, provider wiring.

    Exits 0 when valid (warnings allowed), 2 on any error.
    """
    try:
        cfg = load_config(file)
    except ConfigError as exc:
        if as_json:
            click.echo(json.dumps({"valid": False, "file": file, "errors": [
                {"code": e.code, "path": e.path, "message": e.message, "suggestion": e.suggestion,
                 "line": e.line, "column": e.column} for e in exc.errors]}, indent=2))
        else:
            click.echo(exc.render(), err=False)
        sys.exit(2)
    from ..preflight import refusals

    refused = refusals(cfg)  # what the schema cannot see: bad regexes, unusable URLs, policies that fail to build
    if refused:
        if as_json:
            click.echo(json.dumps({"valid": False, "file": file, "errors": [
                {"code": "E011", "path": "", "message": m, "suggestion": None} for m in refused]}, indent=2))
        else:
            click.echo(f"X {file} has {len(refused)} error{'s' if len(refused) != 1 else ''}")
            for m in refused:
                click.echo(f"error[E011]: {m}")
        sys.exit(2)
    warnings = [{"code": w.code, "path": w.path, "message": w.message, "line": w.line, "column": w.column}
                for w in cfg.warnings]
    if as_json:
        click.echo(json.dumps({"valid": True, "file": file,
                               "pack": {"name": cfg.pack.get("name"), "version": cfg.pack.get("version")},
                               "chain": cfg.chain, "policy_count": len(cfg.chain), "warnings": warnings}, indent=2))
        return
    click.echo(f"OK {file} is valid")
    click.echo(f"Pack: {cfg.pack.get('name')} (v{cfg.pack.get('version')})")
    click.echo("Chain: " + " -> ".join(cfg.chain))
    click.echo(f"Policies validated: {len(cfg.chain)}")
    for w in cfg.warnings:
        loc = f" ({file}:{w.line}:{w.column})" if w.line else ""
        click.echo(f"warning[{w.code}]: {w.message}\n--> {w.path}{loc}")


@policy.command()
@click.option("--listen", default="127.0.0.1:41002", show_default=True, help="The running gateway's listen address")
def apply(listen: str) -> None:
    """Apply the policy file to the running gateway, including a change that weakens the chain.

    The gateway applies a stricter change to its watched file at once, but holds back one that weakens
    it (a policy removed, an action lowered, the pack disabled) until an operator runs this command. It
    sends the admin token from the state dir (~/.keeptrusts/admin-token).
    """
    import http.client

    from .. import admin

    headers = admin.headers()
    if not headers:
        raise click.ClickException(f"no admin token at {admin.token_path()}: start the gateway once as this user "
                                   "(it creates the token), or set KEEPTRUSTS_HOME to the gateway's state dir")
    host, _, port = listen.rpartition(":")
    conn = http.client.HTTPConnection(host.strip("[]") or "127.0.0.1", int(port), timeout=60)
    try:
        conn.request("POST", "/keeptrusts/config/reload?accept_weaker=1", headers=headers)
        resp = conn.getresponse()
        body = json.loads(resp.read() or b"{}")
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot reach the gateway on {listen}: {exc} (is it running? kt doctor)") from None
    finally:
        conn.close()
    if resp.status != 200 or not body.get("ok"):
        message = body.get("message") or (body.get("error") or {}).get("message") or resp.status
        raise click.ClickException(f"the gateway kept its running config: {message}")
    click.echo(f"OK {body.get('message')}")


def register(cli: click.Group) -> None:
    cli.add_command(policy)
