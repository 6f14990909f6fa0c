"""`kt costs` (spend tables) and `kt report` (an HTML page with charts), from the audit trail."""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import click

from ..audit import report as report_mod
from ..audit.queries import fingerprint_names
from ._audit_common import db_option, open_store, time_arg

SPEND_COLUMNS = ("requests", "blocked", "input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens",
                 "cost_usd")


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
    if by == "developer":       # kf_ fingerprints under the name their gateway token gives them
        rows = report_mod.merge_by_name(rows, developer_names(store, None, None), SPEND_COLUMNS)
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
@click.option("--tokens-db", default=None, type=click.Path(dir_okay=False),
              help="Gateway tokens, to name kf_ key fingerprints [default: $KEEPTRUSTS_TOKENS_DB or "
                   "~/.keeptrusts/tokens.db]")
@click.option("--policy-config", default=None, type=click.Path(dir_okay=False, exists=True),
              help="Also name fingerprints from this config's identity.key_fingerprints")
def report(out: str, since: str, db: str | None, tokens_db: str | None, policy_config: str | None) -> None:
    """Write a self-contained HTML page for a team lead: per developer (by name) requests, blocks,
    redacted values, injection and firewall hits and spend; the top blocked rules; redactions per
    developer and type; injection and firewall hits per day; spend per developer per day; verdicts.
    """
    store = open_store(db)
    since_t = None if since == "all" else time_arg(since, "--since")
    names = developer_names(store, tokens_db, policy_config)
    developers = report_mod.merge_by_name(store.developer_counts(since_t), names,
                                          ("requests", "blocked", "redacted", "cost_usd"))
    daily = _daily_named(store.daily_by_developer(since_t), names)
    html = report_mod.render(
        daily=daily, verdicts=store.verdict_counts(since_t),
        by_developer=report_mod.merge_by_name(store.spend("developer", since_t), names, SPEND_COLUMNS),
        by_model=store.spend("model", since_t), since=since_t, db=str(store.db_path),
        generated=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        view=report_mod.team_view(store, since_t, names),
        developer_counts=developers, names_note=_names_note(developers))
    Path(out).write_text(html, encoding="utf-8")
    click.echo(f"Wrote {out} ({len(html):,} bytes)")


def developer_names(store, tokens_db: str | None, policy_config: str | None) -> dict[str, str]:
    key_names = {}
    if policy_config:
        from ..config import ConfigError, load_config
        try:
            cfg = load_config(policy_config)
        except ConfigError as exc:
            raise click.ClickException(exc.first_line()) from None
        key_names = ((cfg.raw or {}).get("identity") or {}).get("key_fingerprints") or {}
    try:
        return fingerprint_names(tokens_db, key_names, store.fingerprints_seen())
    except sqlite3.Error as exc:
        raise click.ClickException(f"cannot read the tokens database {tokens_db or 'tokens.db'}: {exc} "
                                   "(pass --tokens-db PATH)") from None


def _daily_named(daily: list[dict], names: dict[str, str]) -> list[dict]:
    out: dict[tuple[str, str], dict] = {}
    for r in daily:
        dev = names.get(r["developer"], r["developer"])
        cur = out.setdefault((r["day"], dev), {"day": r["day"], "developer": dev, "cost_usd": 0.0, "requests": 0})
        cur["cost_usd"] += r["cost_usd"]
        cur["requests"] += r["requests"]
    return sorted(out.values(), key=lambda r: (r["day"], r["developer"]))


def _names_note(developers: list[dict]) -> str:
    unnamed = [r["key"] for r in developers if str(r["key"]).startswith("kf_")]
    if not unnamed:
        return "Developers are named by their gateway tokens, identity headers or identity.key_fingerprints."
    return (f"{len(unnamed)} developer{'s' if len(unnamed) != 1 else ''} show as a key fingerprint (kf_...): "
            "give each a gateway token (kt tokens create NAME) or name the key in identity.key_fingerprints "
            "(and pass --policy-config).")


def register(cli: click.Group) -> None:
    cli.add_command(costs)
    cli.add_command(report)
