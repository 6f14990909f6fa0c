"""`kt costs` (spend tables) and `kt report` (an HTML page with charts), from the audit trail."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from ..audit import report as report_mod
from ._audit_common import db_option, open_store, time_arg


@click.command()
@click.option("--by", "by", type=click.Choice(["developer", "model", "day", "provider"]), default="developer",
              show_default=True, help="Group spend by")
@click.option("--since", default="7d", show_default=True, help="5m, 1h, 7d, 30d or an RFC 3339 time; 'all' for everything")
@click.option("--until", default=None, help="Same forms as --since [default: now]")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
def costs(by: str, since: str, until: str | None, db: str | None, as_json: bool) -> None:
    """Spend and tokens per developer, model, day or provider.

    Input tokens include cached ones; output tokens include reasoning ones (OpenAI's accounting).
    """
    store = open_store(db)
    since_t = None if since == "all" else time_arg(since, "--since")
    rows = store.spend(by, since_t, time_arg(until, "--until"))
    if as_json:
        click.echo(json.dumps({"by": by, "since": since_t, "rows": rows,
                               "total_usd": round(sum(r["cost_usd"] for r in rows), 6)}, indent=2))
        return
    if not rows:
        click.echo(f"No requests since {since_t or 'the beginning'} in {store.db_path}")
        return
    cols = [(by.upper(), 24), ("REQUESTS", 9), ("BLOCKED", 8), ("INPUT", 12), ("CACHED", 12), ("OUTPUT", 11),
            ("REASONING", 10), ("COST", 12)]
    click.echo(" ".join(f"{t:<{w}}" if i == 0 else f"{t:>{w}}" for i, (t, w) in enumerate(cols)))

    def fmt(key, r):
        vals = [str(key)[:24], f"{r['requests']:,}", f"{r['blocked'] or 0:,}", f"{r['input_tokens']:,}",
                f"{r['cached_input_tokens']:,}", f"{r['output_tokens']:,}", f"{r['reasoning_tokens']:,}",
                f"${r['cost_usd']:,.4f}"]
        return " ".join(f"{v:<{w}}" if i == 0 else f"{v:>{w}}" for i, (v, (_, w)) in enumerate(zip(vals, cols)))

    for r in rows:
        click.echo(fmt(r["key"], r))
    total = {k: sum((r[k] or 0) for r in rows) for k in ("requests", "blocked", "input_tokens", "cached_input_tokens",
                                                          "output_tokens", "reasoning_tokens", "cost_usd")}
    click.echo(fmt("TOTAL", total))


@click.command()
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), default="report.html",
              show_default=True, help="HTML file to write")
@click.option("--since", default="30d", show_default=True, help="Period covered: 7d, 30d... or 'all'")
@db_option
def report(out: str, since: str, db: str | None) -> None:
    """Write a self-contained HTML page: spend per developer over time, verdict counts, spend tables."""
    store = open_store(db)
    since_t = None if since == "all" else time_arg(since, "--since")
    html = report_mod.render(
        daily=store.daily_by_developer(since_t), verdicts=store.verdict_counts(since_t),
        by_developer=store.spend("developer", since_t), by_model=store.spend("model", since_t),
        since=since_t, db=str(store.db_path),
        generated=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    Path(out).write_text(html, encoding="utf-8")
    click.echo(f"Wrote {out} ({len(html):,} bytes)")


def register(cli: click.Group) -> None:
    cli.add_command(costs)
    cli.add_command(report)
