"""`kt events tail | show | export`: read the decisions the gateway records, while it runs."""
from __future__ import annotations

import csv
import json
import sys
import time

import click

from ..audit.queries import CSV_FIELDS, csv_row, event_json, redactions
from ..verdicts import VERDICTS
from ._audit_common import db_option, open_store, time_arg


@click.group()
def events() -> None:
    """Tail, show and export audit events."""


def _money(v) -> str:
    if not v:
        return "$0"
    return f"${v:.4f}" if v < 1 else f"${v:.2f}"


def line(row: dict) -> str:
    """One readable line: time, id, developer, model, path, verdict+reason, tokens, cost, latency."""
    flagged = (row.get("flagged_by") or "").strip(",")
    tokens = "-"
    if row.get("input_tokens") is not None:
        cached = f"({row['cached_input_tokens']} cached)" if row.get("cached_input_tokens") else ""
        tokens = f"in={row['input_tokens']}{cached} out={row.get('output_tokens') or 0}"
    ms = f"{row['total_ms']:.0f}ms" if row.get("total_ms") is not None else "-"
    status = row.get("status")
    return "  ".join([
        (row.get("timestamp") or "")[:19] + "Z",
        row.get("id") or "",
        f"user:{row.get('developer') or '-'}",
        row.get("model") or "-",
        f"{row.get('method') or ''} {row.get('path') or ''}".strip() or "-",
        f"{row.get('verdict') or '-'} {row.get('reason_code') or ''}".rstrip() + (f" [{flagged}]" if flagged else ""),
        *([f"status={status}"] if status and status >= 400 else []),
        tokens, _money(row.get("cost_usd")), ms,
    ])


@events.command()
@db_option
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events as they are written (Ctrl-C stops)")
@click.option("--since", default=None, help="5m, 1h, 24h, 7d or an RFC 3339 time")
@click.option("--verdict", "verdicts", multiple=True, type=click.Choice(VERDICTS),
              help="Only these verdicts (repeatable)")
@click.option("--limit", "--last", "limit", default=50, show_default=True, type=click.IntRange(1),
              help="How many of the latest events to print first")
@click.option("--policy", default=None, help="Only events where this policy did not allow (e.g. pii-detector)")
@click.option("--developer", "--user", "developer", default=None, help="Only this developer's events")
@click.option("--json", "as_json", is_flag=True, help="One JSON event per line")
@click.option("--poll-interval", default=0.5, hidden=True, type=float)
@click.option("--follow-seconds", default=None, hidden=True, type=float)   # bounds --follow in tests
def tail(db, follow, since, verdicts, limit, policy, developer, as_json, poll_interval, follow_seconds) -> None:
    """Print the latest events, one line each; with --follow, keep printing new ones.

    Columns: time, id, developer, model, path, verdict and reason [policies that acted],
    tokens, cost, latency.
    """
    store = open_store(db)
    filters = dict(since=time_arg(since, "--since"), verdicts=tuple(verdicts), policy=policy, developer=developer)

    def emit(rows):
        for r in rows:
            click.echo(json.dumps(event_json(r)) if as_json else line(r))

    last = store.last_seq()
    emit(store.select(**filters, limit=limit, newest=True))
    if not follow:
        return
    stop_at = time.monotonic() + follow_seconds if follow_seconds is not None else None
    try:
        while stop_at is None or time.monotonic() < stop_at:
            time.sleep(poll_interval)
            rows = store.select(**filters, after_seq=last)
            emit(rows)
            sys.stdout.flush()
            last = max([last] + [r["seq"] for r in rows])
            if not rows:
                last = max(last, store.last_seq())
    except KeyboardInterrupt:
        pass


@events.command()
@click.argument("event_id")
@db_option
@click.option("--json", "as_json", is_flag=True, help="The whole event as JSON")
@click.option("--full", is_flag=True, help="Print the request and response bodies in full")
def show(event_id: str, db, as_json: bool, full: bool) -> None:
    """Show one exchange: identity, verdicts, what was redacted (types and placeholders), the
    request as forwarded upstream (already redacted), the output, tokens, cost and timings.

    EVENT_ID may be the full id or a unique prefix.
    """
    store = open_store(db)
    row = store.get(event_id, with_body=True)
    if row is None:
        n = store.count_prefix(event_id)
        if n > 1:
            raise click.ClickException(f"{event_id} matches {n} events in {store.db_path}: give more of the id")
        raise click.ClickException(f"no event {event_id} in {store.db_path}: list ids with `kt events tail`")
    ev = event_json(row, with_body=True)
    if as_json:
        click.echo(json.dumps(ev, indent=2))
        return
    out = click.echo
    out(f"Event {row['id']}  ({row['event_type']}, seq {row['seq']}, row hash {row['row_hash'][:16]})")
    out(f"  time       {row['timestamp']}")
    out(f"  verdict    {row['verdict']}  {row['reason_code'] or ''}")
    out(f"  developer  {row['developer'] or '-'}  (from {row['developer_source'] or '-'}; "
        f"key {row['key_fingerprint'] or '-'}; client {row['client'] or '-'})")
    out(f"  request    {row['method'] or ''} {row['host'] or ''}{row['path'] or ''}  api={row['api']} "
        f"mode={row['mode']} transport={row['transport']} status={row['status']}")
    out(f"  model      {row['model'] or '-'}  provider={row['provider'] or '-'} target={row['target_id'] or '-'}")
    out(f"  config     {row['config_name'] or '-'}@{row['config_version'] or '-'}  session={row['session_id'] or '-'}")
    t = ev["tokens"]
    out(f"  tokens     input={t['input']} cached={t['cached_input']} output={t['output']} reasoning={t['reasoning']}")
    out(f"  cost       {_money(row['cost_usd'])}  ({row['price_source']})")
    d = row.get("durations") or {}
    out("  timing     " + "  ".join(f"{k}={v:.1f}" for k, v in d.items() if isinstance(v, (int, float))) if d else
        "  timing     -")
    if row.get("error"):
        out(f"  error      {row['error']}")
    if row.get("event_type") == "anchor":
        out(f"  anchor     {json.dumps(row.get('extra'))}")
    out("Policies:")
    for p in row.get("policies") or []:
        extra = f" score={p['score']}" if p.get("score") is not None else ""
        err = f" error={p['error']}" if p.get("error") else ""
        out(f"  {p.get('policy')}: {p.get('verdict', 'allow')} {p.get('reason_code', '')} "
            f"({p.get('phase', '')}, {p.get('duration_ms', 0):.1f}ms){extra}{err}")
        if p.get("message"):
            out(f"      message: {p['message']}")
    reds = redactions(row)
    out(f"Findings ({len(reds)}; values are never stored):")
    for r in reds:
        out(f"  {r['action'] or '?':8} {r['type']:24} {r['placeholder'] or '':34} at {r['where'] or '-'}"
            f"  ({r['policy']}{', rule ' + r['rule'] if r.get('rule') else ''})")
    out("Request as forwarded upstream:")
    _body(row.get("request_body"), full)
    output = row.get("output") or {}
    if output:
        out(f"Output ({output.get('status') or output.get('finish_reason') or '-'}):")
        text = output.get("text") or ""
        out("  " + (text if full or len(text) <= 2000 else text[:2000] + f" ... [{len(text)} chars, --full]"))
        for tc in output.get("tool_calls") or []:
            args = str(tc.get("arguments") or "")
            out(f"  tool call {tc.get('kind')} {tc.get('name')} {tc.get('call_id') or ''}: "
                + (args if full or len(args) <= 300 else args[:300] + " ..."))
    if row.get("response_body") and full:
        out("Response body:")
        out(row["response_body"])


def _body(body: str | None, full: bool) -> None:
    if body is None:
        click.echo("  (none)")
        return
    try:
        doc = json.loads(body)
    except ValueError:
        click.echo("  " + (body if full else body[:2000]))
        return
    if full:
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    for key, value in doc.items() if isinstance(doc, dict) else ():
        if key in ("input", "messages") and isinstance(value, list):
            click.echo(f"  {key}: {len(value)} items")
            for i, item in enumerate(value):
                click.echo(f"    [{i}] {_item_summary(item)}")
        else:
            text = json.dumps(value, ensure_ascii=False)
            click.echo(f"  {key}: " + (text if len(text) <= 160 else text[:160] + f" ... [{len(text)} chars]"))


def _item_summary(item) -> str:
    if not isinstance(item, dict):
        return json.dumps(item)[:160]
    label = item.get("role") or item.get("type") or "?"
    if item.get("type") and item.get("role"):
        label = f"{item['type']}/{item['role']}"
    content = item.get("content", item.get("output", item.get("arguments", item.get("input", ""))))
    if isinstance(content, list):
        content = " ".join(str(c.get("text", "")) if isinstance(c, dict) else str(c) for c in content)
    text = " ".join(str(content).split())
    return f"{label}: " + (text if len(text) <= 140 else text[:140] + " ...")


@events.command()
@db_option
@click.option("--since", default=None, help="5m, 1h, 7d or an RFC 3339 time [default: everything]")
@click.option("--until", default=None, help="Same forms as --since [default: now]")
@click.option("--format", "fmt", type=click.Choice(["json", "jsonl", "csv"]), default="json", show_default=True,
              help="json: one array; jsonl: one event per line; csv: one row per event")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default="-",
              help="File to write [default: stdout]")
@click.option("--verdict", "verdicts", multiple=True, type=click.Choice(VERDICTS), help="Only these verdicts")
@click.option("--developer", default=None, help="Only this developer's events")
def export(db, since, until, fmt, output, verdicts, developer) -> None:
    """Export events for a SIEM or a spreadsheet (reference event fields plus identity, tokens, cost)."""
    store = open_store(db)
    filters = dict(since=time_arg(since, "--since"), until=time_arg(until, "--until"), verdicts=tuple(verdicts),
                   developer=developer)
    n = 0
    with click.open_file(output, "w", encoding="utf-8") as fh:
        writer = None
        if fmt == "csv":
            writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
            writer.writeheader()
        elif fmt == "json":
            fh.write("[")
        last = 0
        while True:          # pages by seq: constant memory on big databases
            rows = store.select(**filters, after_seq=last, limit=1000)
            if not rows:
                break
            for r in rows:
                if fmt == "csv":
                    writer.writerow(csv_row(r))
                elif fmt == "json":
                    fh.write(("," if n else "") + "\n" + json.dumps(event_json(r)))
                else:
                    fh.write(json.dumps(event_json(r)) + "\n")
                n += 1
            last = rows[-1]["seq"]
        if fmt == "json":
            fh.write("\n]\n")
    if output != "-":
        click.echo(f"Exported {n} events to {output}", err=True)


def register(cli: click.Group) -> None:
    cli.add_command(events)
