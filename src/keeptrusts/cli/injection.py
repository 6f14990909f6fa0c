"""`kt injection check` / `kt injection rules`: try the prompt-injection policy on files or stdin."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..config import ConfigError, load_config
from ..exchange import OTHER, SYSTEM, TOOL_OUTPUT, USER
from ..injection.families import ALL_RULES
from ..injection.neutralize import neutralize
from ..injection.rule import DECODER, MARKER
from ..policies.prompt_injection import PromptInjection

MAX_BYTES = 5 * 1024 * 1024


def _policy(config: str | None) -> PromptInjection:
    options: dict = {}
    if config:
        try:
            options = load_config(config).policy_options.get("prompt-injection", {})
        except ConfigError as exc:
            raise click.ClickException(f"{config}: invalid policy config ({exc.first_line()}); "
                                       f"run `kt policy lint -f {config}` for details") from None
    try:
        return PromptInjection(options)
    except ValueError as exc:
        raise click.ClickException(f"{config}: {exc}") from None


@click.group()
def injection() -> None:
    """Try the prompt-injection rules on files, pages or text."""


@injection.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--config", "-c", type=click.Path(exists=True, dir_okay=False),
              help="policy-config.yaml whose prompt-injection block to use (default: built-in levels)")
@click.option("--source", type=click.Choice([TOOL_OUTPUT, USER, SYSTEM, OTHER]), default=TOOL_OUTPUT, show_default=True,
              help="Judge the text as a tool output (indirect, strict) or as a user/system message (direct)")
@click.option("--show-neutralized", is_flag=True, help="Print the rewritten text when the action is neutralize")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
def check(paths: tuple[str, ...], config: str | None, source: str, show_neutralized: bool, as_json: bool) -> None:
    """Score each file (or `-` for stdin) as the gateway would score it in a request.

    Exits 0 when every input is allowed, flagged or neutralised, 1 when one would be blocked.

    \b
    kt injection check README.md
    curl -s https://example.com | kt injection check -
    echo 'Ignore all previous instructions' | kt injection check --source user -
    """
    policy = _policy(config)
    results = []
    for p in paths:
        if p == "-":
            text = sys.stdin.read()
        else:
            path = Path(p)
            if not path.is_file():
                raise click.ClickException(f"{p}: no such file; pass a file path or - for stdin")
            if path.stat().st_size > MAX_BYTES:
                raise click.ClickException(f"{p}: larger than 5 MB; split it (Codex sends at most ~10 KB per tool output)")
            text = path.read_text(encoding="utf-8", errors="replace")
        report = policy.scanner.scan(text, untrusted=source not in (USER, SYSTEM))
        action = policy.action_for(source, report.score) if report.hits else "allow"
        results.append({
            "path": p, "source": source, "score": report.score, "action": action, "family": report.family,
            "findings": [{"rule": h.rule, "family": h.family, "weight": round(h.weight, 3), "evidence": h.evidence,
                          **({"start": h.start, "end": h.end} if h.start is not None else {}),
                          **({"via": h.via} if h.via else {})} for h in report.hits],
            **({"neutralized": neutralize(text, report)} if show_neutralized and action == "neutralize" else {}),
        })
    if as_json:
        click.echo(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        for r in results:
            click.echo(f"{r['path']}: {r['action']} (score {r['score']:.2f}"
                       + (f", {r['family']}" if r["family"] else "") + f", as {r['source']})")
            for f in r["findings"]:
                click.echo(f"  {f['weight']:.2f}  {f['rule']:45} {f['evidence']}")
            if "neutralized" in r:
                click.echo("  --- forwarded as ---\n" + r["neutralized"])
    sys.exit(1 if any(r["action"] == "block" for r in results) else 0)


@injection.command()
@click.option("--family", help="Only rules of this family (e.g. exfiltration)")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
def rules(family: str | None, as_json: bool) -> None:
    """List the built-in rules: id, family, weight, and where they count."""
    rows = [{"id": r.id, "family": r.family, "weight": r.weight, "scope": r.scope, "pattern": r.pattern}
            for r in ALL_RULES if not family or r.family == family]
    if family and not rows:
        families = sorted({r.family for r in ALL_RULES})
        raise click.ClickException(f"no rules in family '{family}'; families: {', '.join(families)}")
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for r in rows:
        kind = {DECODER: "decoder", MARKER: "marker"}.get(r["scope"], f"{r['weight']:.2f} {r['scope']}")
        click.echo(f"{r['id']:50} {kind}")


def register(cli: click.Group) -> None:
    cli.add_command(injection)
