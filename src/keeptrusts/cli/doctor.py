"""`kt doctor`: one ✓/✗ line per check of the gateway, its clients and its environment."""
from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

import click

from .. import __version__
from ..diagnostics import FAIL, OK, SKIP, WARN, Context, run_all
from ..paths import PROJECT_ROOT

MARKS = {OK: ("✓", "green"), WARN: ("!", "yellow"), FAIL: ("✗", "red"), SKIP: ("-", None)}
TITLE = "Keeptrusts Gateway Diagnostics"


def default_config() -> str:
    if Path("policy-config.yaml").exists():
        return "policy-config.yaml"
    shipped = PROJECT_ROOT / "policies" / "codex-cli.yaml"
    return str(shipped) if shipped.exists() else "policy-config.yaml"


@click.command()
@click.option("--policy-config", "--config", "-f", "config", type=click.Path(dir_okay=False),
              help="The config the gateway runs [default: ./policy-config.yaml, else policies/codex-cli.yaml]")
@click.option("--listen", help="The gateway's reverse-mode address [default: gateway.listen, else 127.0.0.1:41002]")
@click.option("--proxy-listen", help="The explicit-proxy address [default: gateway.proxy_listen, else 127.0.0.1:41003]")
@click.option("--audit-db", type=click.Path(dir_okay=False), help="Audit database [default: the gateway's]")
@click.option("--offline", is_flag=True, help="Do not contact the upstream provider")
@click.option("--timeout", default=3.0, show_default=True, type=float, help="Seconds per network check")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
def doctor(config: str | None, listen: str | None, proxy_listen: str | None, audit_db: str | None, offline: bool,
           timeout: float, as_json: bool) -> None:
    """Check the config, ports, upstream, provider key, CA trust, audit database, Codex config and proxy variables.

    When a gateway is running on --listen, it is asked (GET /keeptrusts/status) for the config, upstream,
    key mode and audit database it really uses, and those are checked. Every failing check says how to
    fix it. Exits 1 if any check fails (warnings do not).
    """
    # Without --policy-config, a running gateway's own config file is checked (probe_gateway).
    ctx = Context(config or default_config(), listen, proxy_listen, offline, audit_db, timeout,
                  config_explicit=config is not None)
    checks = run_all(ctx)
    failed = [c for c in checks if c.status == FAIL]
    if as_json:
        click.echo(json.dumps({"ok": not failed, "version": __version__, "checks": [c.to_dict() for c in checks]},
                              indent=2, ensure_ascii=False))
    else:
        click.echo(TITLE)
        click.echo("─" * len(TITLE))
        click.echo(f"kt {__version__}, Python {platform.python_version()}")
        for c in checks:
            mark, colour = MARKS[c.status]
            click.echo(f"{click.style(mark, fg=colour)} {c.message}")
            if c.fix and c.status in (FAIL, WARN):
                click.echo(f"    fix: {c.fix}")
        counts = {s: sum(1 for c in checks if c.status == s) for s in MARKS}
        click.echo(f"\n{counts[OK]} ok, {counts[WARN]} warning(s), {counts[FAIL]} failed, {counts[SKIP]} skipped")
    if failed:
        sys.exit(1)


def register(cli: click.Group) -> None:
    cli.add_command(doctor)
