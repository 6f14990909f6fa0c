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


def register(cli: click.Group) -> None:
    cli.add_command(policy)
