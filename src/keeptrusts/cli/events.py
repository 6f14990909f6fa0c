"""`kt events tail | show | export`: read the decisions the gateway records, while it runs."""
from __future__ import annotations

import csv
import json
import os
import sys
import time

import click

from ..audit.queries import CSV_FIELDS, csv_row, event_json, redactions
from ..verdicts import SEVERITY, VERDICTS, worst
from ._audit_common import db_option, open_store, time_arg


@click.group()
def events() -> None:
    """Tail, show and export audit events."""


def _money(v) -> str:
    if not v:
        return "$0"
    return f"${v:.4f}" if v < 1 else f"${v:.2f}"


# Verdict colours for a terminal; the text is the same with or without them.
VERDICT_STYLE = {"allow": {"fg": "green"}, "flag": {"fg": "yellow"}, "redact": {"fg": "cyan"},
                 "escalate": {"fg": "magenta", "bold": True}, "block": {"fg": "red", "bold": True}}

# (title, width, align): fixed widths, so lines printed one at a time by --follow line up too.
# The last two columns (policies, request) have no width.
COLUMNS = [("TIME", 20, "<"), ("ID", 28, "<"), ("VERDICT", 8, "<"), ("REASON", 26, "<"), ("DEVELOPER", 14, "<"),
           ("MODEL", 16, "<"), ("IN", 9, ">"), ("OUT", 7, ">"), ("COST", 8, ">"), ("LATENCY", 8, ">"),
           ("POLICIES", 0, "<"), ("REQUEST", 0, "<")]


def _fit(text: str, width: int, align: str) -> str:
    if width and len(text) > width:
        text = text[:width - 1] + "\u2026"
    return f"{text:{align}{width}}" if width else text


def _count(n: int, width: int) -> str:
    """A token count that fits its column: 98,765 or, when that is too wide, 123.5M."""
    text = f"{n:,}"
    if len(text) <= width:
        return text
    div, unit = next((d, u) for d, u in ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1, "")) if n >= d)
    return f"{n / div:.1f}{unit}"


def _cells(row: dict) -> list[str]:
    flagged = ",".join(dict.fromkeys(p for p in (row.get("flagged_by") or "").split(",") if p))
    status = row.get("status")
    request = f"{row.get('method') or ''} {row.get('path') or ''}".strip() or "-"
    if status and status >= 400:
        request += f" status={status}"
    has_usage = row.get("input_tokens") is not None
    return [
        (row.get("timestamp") or "")[:19] + "Z",
        row.get("id") or "",
        row.get("verdict") or "-",
        row.get("reason_code") or "-",
        row.get("developer") or "-",
        row.get("model") or "-",
        _count(row["input_tokens"], 9) if has_usage else "-",
        _count(row.get("output_tokens") or 0, 7) if has_usage else "-",
        _money(row.get("cost_usd")),
        f"{row['total_ms']:,.0f}ms" if row.get("total_ms") is not None else "-",
        f"[{flagged}]" if flagged else "-",
        request,
    ]


def header() -> str:
    return "  ".join(_fit(t, w, a) for t, w, a in COLUMNS).rstrip()


def line(row: dict, color: bool = False) -> str:
    """One aligned line: time, id, verdict, reason, developer, model, tokens in/out, cost, latency,
    [policies that acted], request. With `color`, the verdict and reason take the verdict's colour."""
    parts = [_fit(v, w, a) for v, (_, w, a) in zip(_cells(row), COLUMNS)]
    if color:
        style = VERDICT_STYLE.get(row.get("verdict") or "", {})
        parts[2] = click.style(parts[2], **style)
        if row.get("verdict") not in (None, "allow"):
            parts[3] = click.style(parts[3], **style)
    return "  ".join(parts).rstrip()


def use_color(flag: bool | None) -> bool:
    """--color / --no-color win; otherwise colour only on a terminal and when NO_COLOR is not set."""
    if flag is not None:
        return flag
    if os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


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
@click.option("--color/--no-color", "color", default=None,
              help="Colour verdicts [default: on a terminal, unless NO_COLOR is set]")
@click.option("--poll-interval", default=0.5, hidden=True, type=float)
@click.option("--follow-seconds", default=None, hidden=True, type=float)   # bounds --follow in tests
def tail(db, follow, since, verdicts, limit, policy, developer, as_json, color, poll_interval,
         follow_seconds) -> None:
    """Print the latest events, one aligned line each; with --follow, keep printing new ones.

    Columns: time, id, verdict, reason, developer, model, input and output tokens, cost, latency,
    [policies that acted], request. `kt events show ID` explains one event.
    """
    store = open_store(db)
    filters = dict(since=time_arg(since, "--since"), verdicts=tuple(verdicts), policy=policy, developer=developer)
    colored = use_color(color) and not as_json

    def emit(rows):
        for r in rows:
            click.echo(json.dumps(event_json(r)) if as_json else line(r, colored), color=colored)

    last = store.last_seq()
    if not as_json:
        click.echo(header())
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
@click.option("--all", "show_all", is_flag=True, help="List every policy, also those that allowed")
def show(event_id: str, db, as_json: bool, full: bool, show_all: bool) -> None:
    """Show one exchange: identity, verdicts, what was redacted (types and placeholders), the
    request as forwarded upstream (already redacted), the output, tokens, cost and timings.

    Policies that allowed are summed up in one line (--all lists them); a policy that ran in
    several phases (input, output, each tool call) is listed once.
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
    links = blocked_history_links(store, row)
    if as_json:
        if links["original_blocks"] or links["continued_in"]:
            ev["blocked_history"] = links
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
    out("  tokens     " + (f"input={t['input']} cached={t['cached_input']} output={t['output']} "
                          f"reasoning={t['reasoning']}" if t["input"] is not None else "- (no usage reported)"))
    out(f"  cost       {_money(row['cost_usd'])}  ({row['price_source']})")
    d = row.get("durations") or {}
    out("  timing     " + "  ".join(f"{k}={v:.1f}" for k, v in d.items() if isinstance(v, (int, float))) if d else
        "  timing     -")
    if row.get("error"):
        out(f"  error      {row['error']}")
    if row.get("event_type") == "anchor":
        out(f"  anchor     {json.dumps(row.get('extra'))}")
    _policies(row.get("policies") or [], show_all)
    _findings(redactions(row))
    if links["original_blocks"]:
        out("Blocked history: content blocked in an earlier turn was sent as a stub; the original block: "
            + ", ".join(f"kt events show {e}" for e in links["original_blocks"]))
    if links["continued_in"]:
        out("Blocked history: later turns went on without the blocked content (a stub in its place): "
            + ", ".join(links["continued_in"]))
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


def blocked_history_links(store, row: dict, limit: int = 20) -> dict:
    """Both directions of keeptrusts.blocked_items: the blocks a stubbed turn names (its blocked-history
    findings' evidence) and, for a block, the later turns that went on with a stub in its place."""
    earlier = sorted({f["evidence"] for p in row.get("policies") or [] if p.get("policy") == "blocked-history"
                      for f in p.get("findings") or [] if f.get("evidence")})
    later: list[str] = []
    if row.get("verdict") == "block" and row.get("seq") is not None:
        later = [r[0] for r in store.conn.execute(
            "SELECT id FROM events WHERE flagged_by LIKE '%,blocked-history,%' AND seq > ? AND policies LIKE ? "
            "ORDER BY seq LIMIT ?", (row["seq"], f"%{row['id']}%", limit))]
    return {"original_blocks": earlier, "continued_in": later}


def _policies(entries: list[dict], show_all: bool) -> None:
    """One line per policy (its phases merged), the ones that acted first; allows in one line."""
    by: dict[str, list[dict]] = {}
    for p in entries:
        by.setdefault(str(p.get("policy") or "?"), []).append(p)
    acted = {name: ps for name, ps in by.items()
             if any(p.get("verdict", "allow") != "allow" or p.get("error") for p in ps)}
    allowed = [name for name in by if name not in acted]
    click.echo("Policies:" if by else "Policies: none recorded")
    for name, ps in acted.items():
        verdict = worst([p.get("verdict", "allow") for p in ps if p.get("verdict", "allow") in SEVERITY])
        ms = sum(p.get("duration_ms") or 0 for p in ps)
        click.echo(f"  {name}: {verdict}  ({_phases(ps)}; {ms:.1f}ms)")
        seen = set()
        for p in ps:
            if p.get("verdict", "allow") == "allow" and not p.get("error"):
                continue
            detail = (p.get("phase", ""), p.get("verdict", "allow"), p.get("reason_code", ""), p.get("message", ""),
                      p.get("score"), p.get("error"))
            if detail in seen:          # the same decision on several tool calls: say it once
                continue
            seen.add(detail)
            extra = f" score={p['score']}" if p.get("score") is not None else ""
            err = f" error={p['error']}" if p.get("error") else ""
            click.echo(f"      {p.get('phase', '')}: {p.get('verdict', 'allow')} {p.get('reason_code', '')}{extra}{err}")
            if p.get("message"):
                click.echo(f"        message: {p['message']}")
    if not allowed:
        return
    if show_all:
        for name in allowed:
            ms = sum(p.get("duration_ms") or 0 for p in by[name])
            click.echo(f"  {name}: allow  ({_phases(by[name])}; {ms:.1f}ms)")
    else:
        n = len(allowed)
        click.echo(f"  {n} polic{'y' if n == 1 else 'ies'} allowed: {', '.join(allowed)}  (--all for details)")


def _phases(ps: list[dict]) -> str:
    counts: dict[str, int] = {}
    for p in ps:
        counts[p.get("phase") or "?"] = counts.get(p.get("phase") or "?", 0) + 1
    return ", ".join(ph if n == 1 else f"{ph} x{n}" for ph, n in counts.items())


def _findings(reds: list[dict]) -> None:
    """Findings grouped by what was found (type, placeholder, policy, rule), with every place it was."""
    groups: dict[tuple, list[str]] = {}
    for r in reds:
        key = (r["action"] or "?", r["type"] or "?", r["placeholder"] or "", r["policy"] or "?", r.get("rule") or "")
        groups.setdefault(key, []).append(r["where"] or "-")
    click.echo(f"Findings ({len(reds)}; values are never stored):")
    for (action, ftype, placeholder, policy, rule), wheres in groups.items():
        where = wheres[0] if len(wheres) == 1 else f"{len(wheres)} places: " + ", ".join(wheres[:6]) + \
            (", ..." if len(wheres) > 6 else "")
        click.echo(f"  {action:8} {ftype:24} {placeholder:34} at {where}  ({policy}{', rule ' + rule if rule else ''})")


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
@click.option("--format", "fmt", type=click.Choice(["json", "jsonl", "csv", "otlp"]), default="json", show_default=True,
              help="json: one array; jsonl: one event per line; csv: one row per event; "
                   "otlp: POST to an OpenTelemetry collector (OTLP/HTTP JSON)")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default="-",
              help="File to write [default: stdout]")
@click.option("--verdict", "verdicts", multiple=True, type=click.Choice(VERDICTS), help="Only these verdicts")
@click.option("--developer", default=None, help="Only this developer's events")
@click.option("--endpoint", default=None, metavar="URL",
              help="otlp: collector URL, e.g. http://127.0.0.1:4318 [default: $OTEL_EXPORTER_OTLP_ENDPOINT]")
@click.option("--signal", type=click.Choice(["logs", "traces"]), default="logs", show_default=True,
              help="otlp: one log record or one span per exchange")
@click.option("--header", "headers", multiple=True, metavar="KEY=VALUE", help="otlp: HTTP header (repeatable)")
def export(db, since, until, fmt, output, verdicts, developer, endpoint, signal, headers) -> None:
    """Export events for a SIEM, a spreadsheet or an OpenTelemetry collector (reference event fields
    plus identity, tokens, cost). With --format otlp, GenAI semantic-convention attributes, no prompts."""
    store = open_store(db)
    filters = dict(since=time_arg(since, "--since"), until=time_arg(until, "--until"), verdicts=tuple(verdicts),
                   developer=developer)
    if fmt == "otlp":
        _export_otlp(store, filters, endpoint, signal, headers)
        return
    n = 0
    with click.open_file(output, "w", encoding="utf-8") as fh:
        writer = None
        if fmt == "csv":
            writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
            writer.writeheader()
        elif fmt == "json":
            fh.write("[")
        for rows in _pages(store, filters):
            for r in rows:
                if fmt == "csv":
                    writer.writerow(csv_row(r))
                elif fmt == "json":
                    fh.write(("," if n else "") + "\n" + json.dumps(event_json(r)))
                else:
                    fh.write(json.dumps(event_json(r)) + "\n")
                n += 1
        if fmt == "json":
            fh.write("\n]\n")
    if output != "-":
        click.echo(f"Exported {n} events to {output}", err=True)


def _pages(store, filters: dict, size: int = 1000):
    """Rows in pages by seq: constant memory on big databases."""
    last = 0
    while True:
        rows = store.select(**filters, after_seq=last, limit=size)
        if not rows:
            return
        yield rows
        last = rows[-1]["seq"]


def _export_otlp(store, filters: dict, endpoint: str | None, signal: str, headers: tuple[str, ...]) -> None:
    from .. import otel
    block: dict = {"signal": signal, "headers": {}}
    for h in headers:
        key, sep, value = h.partition("=")
        if not sep or not key.strip():
            raise click.ClickException(f"--header {h!r}: use KEY=VALUE, e.g. --header authorization='Bearer x'")
        block["headers"][key.strip()] = value.strip()
    if endpoint:
        block["endpoint"] = endpoint
    try:
        cfg = otel.OtelConfig.from_config({"audit": {"otel": block}})
    except ValueError as exc:
        raise click.ClickException(f"--endpoint: {exc}") from None
    if cfg is None:
        raise click.ClickException("no OTLP endpoint: pass --endpoint http://COLLECTOR:4318 or set "
                                   "OTEL_EXPORTER_OTLP_ENDPOINT")
    n = 0
    for rows in _pages(store, filters, size=cfg.batch_size):
        try:
            otel.post(cfg, [otel.convert(r, signal) for r in rows])
        except otel.OtelError as exc:
            raise click.ClickException(f"{exc} after {n} events were exported; is the collector running? "
                                       "(--since limits what is sent again)") from None
        n += len(rows)
    click.echo(f"Exported {n} events to {cfg.endpoint} as OTLP {signal}", err=True)


def register(cli: click.Group) -> None:
    cli.add_command(events)
