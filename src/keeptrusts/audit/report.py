"""`kt report`: one self-contained HTML page (no scripts, no external files) with inline SVG charts,
for a team lead: who was blocked and by which rules, what was redacted per developer and per type,
injection and firewall hits over time, spend per developer per day, and the tables behind them.

Developers are shown by name: a `kf_` key fingerprint is replaced by the name its gateway token (or
`identity.key_fingerprints`) gives it. Codex resends its whole history every turn, so a finding in
an old history item is found again on every later turn; the report counts it once (the item's
content hash, or the redaction placeholder, which is the same for the same value).

Every name shown comes from request headers or tokens, so everything is HTML-escaped. Legends are
HTML (the browser wraps them), so labels never overlap however long the names are.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from html import escape

PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#bab0ac"]
VERDICT_COLORS = {"allow": "#59a14f", "flag": "#edc948", "redact": "#4e79a7", "escalate": "#f28e2b",
                  "block": "#e15759"}
HIT_COLORS = {"injection": "#b07aa1", "firewall": "#f28e2b"}
MAX_SERIES = 9          # developers (or types) drawn separately; the rest are "others"
TOP_RULES = 12
INJECTION, FIREWALL = "prompt-injection", "agent-firewall"
NOT_REDACTIONS = (INJECTION, FIREWALL)   # their "redact" is a neutralised injection or a rewritten call
CHAR_W = 7.2            # average width of a 12px system-ui character, for label columns in SVG


def _money(v: float) -> str:
    return f"${v:,.2f}" if v >= 1 or v == 0 else f"${v:.4f}"


def _nice_ceiling(v: float) -> float:
    """The axis top: 1, 2, 2.5 or 5 times a power of ten, at or above v."""
    if v <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if m * exp >= v * 1.0001:
            return m * exp
    return 10 * exp


def _nice_count_ceiling(v: float) -> int:
    """An integer axis top divisible by 4 (four gridlines with whole numbers)."""
    if v <= 4:
        return 4
    top = _nice_ceiling(v)
    return int(math.ceil(top / 4) * 4)


def _axis_money(v: float, step: float) -> str:
    """Labels exactly as precise as the step: $0 $5 $10, $0.00 $2.50 $5.00, $0.000 $0.625 $1.250."""
    decimals = next((d for d in range(7) if abs(round(step, d) - step) <= step * 1e-6), 6)
    if decimals:
        decimals = max(decimals, 2)     # cents
    return f"${v:,.{decimals}f}"


def _days(start: str, end: str) -> list[str]:
    d0, d1 = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    return [(d0 + dt.timedelta(days=i)).isoformat() for i in range((d1 - d0).days + 1)]


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 1] + "\u2026"


def legend(entries: list[tuple[str, str, str]]) -> str:
    """(colour, label, value) as an HTML list: wraps to new lines instead of overlapping."""
    items = "".join(f'<li><i style="background:{c}"></i>{escape(label)}'
                    + (f" <b>{escape(value)}</b>" if value else "") + "</li>" for c, label, value in entries)
    return f'<ul class="legend">{items}</ul>'


# ---------------------------------------------------------------------------------------------
# What happened, per developer, from the audit rows

@dataclass
class TeamView:
    blocked_rules: dict[tuple[str, str], set[str]] = field(default_factory=dict)      # (policy, rule) -> event ids
    rule_developers: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    redactions: dict[str, dict[str, set]] = field(default_factory=dict)               # dev -> type -> distinct values
    hits: dict[str, dict[str, int]] = field(default_factory=dict)                     # kind -> day -> new hits
    dev_hits: dict[str, dict[str, int]] = field(default_factory=dict)                 # dev -> kind -> new hits

    def redaction_types(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for types in self.redactions.values():
            for t, values in types.items():
                out[t] = out.get(t, 0) + len(values)
        return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def display_name(developer: str | None, fingerprint: str | None, names: dict[str, str]) -> str:
    raw = developer or fingerprint or "(unknown)"
    return names.get(raw, raw)


def _blocking_rule(p: dict) -> str:
    for f in p.get("findings") or []:
        if f.get("action") == "block":
            return str(f.get("rule") or f.get("type") or p.get("reason_code") or "?")
    return str(p.get("reason_code") or "?")


def team_view(store, since: str | None, names: dict[str, str]) -> TeamView:
    view = TeamView()
    first_seen: dict[tuple, tuple[str, str, str]] = {}      # hit key -> (kind, day, developer)
    cache: dict = {}
    for row in store.acted_rows(since):
        dev = display_name(row.get("developer"), row.get("key_fingerprint"), names)
        for p in row.get("policies") or []:
            if not isinstance(p, dict) or p.get("verdict", "allow") == "allow":
                continue
            policy = str(p.get("policy") or "?")
            if p.get("verdict") == "block":
                key = (policy, _blocking_rule(p))
                view.blocked_rules.setdefault(key, set()).add(row["id"])
                view.rule_developers.setdefault(key, set()).add(dev)
            kind = {INJECTION: "injection", FIREWALL: "firewall"}.get(policy)
            findings = [f for f in p.get("findings") or [] if isinstance(f, dict)]
            if kind and not findings:            # e.g. a tool-name rule or a rate limit: one hit per request
                first_seen.setdefault((kind, row["id"], p.get("reason_code")), (kind, row["timestamp"][:10], dev))
            for f in findings:
                where = f.get("where")
                item = store.history_item(row, where, cache)
                if kind:
                    # a history item counts once however often it is resent; anything else (a tool
                    # call in the output, a body we cannot split) once per request
                    key = (kind, dev, item or row["id"], "" if item else where, f.get("rule") or f.get("type"))
                    first_seen.setdefault(key, (kind, row["timestamp"][:10], dev))
                elif f.get("action") == "redact" and policy not in NOT_REDACTIONS:
                    if f.get("placeholder"):          # the same value always gets the same placeholder
                        value = f["placeholder"]
                    elif item:
                        value = (item, where, f.get("start"))
                    else:
                        value = (row["id"], where, f.get("start"))
                    view.redactions.setdefault(dev, {}).setdefault(str(f.get("type") or "?"), set()).add(value)
    for kind, day, dev in first_seen.values():
        view.hits.setdefault(kind, {})
        view.hits[kind][day] = view.hits[kind].get(day, 0) + 1
        view.dev_hits.setdefault(dev, {})
        view.dev_hits[dev][kind] = view.dev_hits[dev].get(kind, 0) + 1
    return view


def merge_by_name(rows: list[dict], names: dict[str, str], numeric: tuple[str, ...]) -> list[dict]:
    """Rows keyed by raw developer (name or fingerprint) -> rows keyed by display name, summed."""
    out: dict[str, dict] = {}
    for r in rows:
        key = names.get(r["key"], r["key"])
        if key not in out:
            out[key] = {**r, "key": key}
        else:
            for k in numeric:
                out[key][k] = (out[key][k] or 0) + (r[k] or 0)
    return sorted(out.values(), key=lambda r: (-(r.get("cost_usd") or 0), str(r["key"])))


# ---------------------------------------------------------------------------------------------
# Charts

def spend_chart(daily: list[dict], start: str | None = None, end: str | None = None, width: int = 860,
                height: int = 300) -> str:
    """Stacked bars: one per day of the period (start..end, or the days with spend), one colour per developer."""
    if not daily:
        return '<p class="empty">No spend recorded in this period.</p>'
    totals: dict[str, float] = {}
    for r in daily:
        totals[r["developer"]] = totals.get(r["developer"], 0.0) + r["cost_usd"]
    ranked = sorted(totals, key=lambda d: (-totals[d], d))
    shown = ranked[:MAX_SERIES]
    series = shown + (["others"] if len(ranked) > MAX_SERIES else [])
    days = _days(min([r["day"] for r in daily] + ([start] if start else [])),
                 max([r["day"] for r in daily] + ([end] if end else [])))
    stack = {d: {s: 0.0 for s in series} for d in days}
    for r in daily:
        s = r["developer"] if r["developer"] in shown else "others"
        stack[r["day"]][s] += r["cost_usd"]
    top = _nice_ceiling(max(sum(v.values()) for v in stack.values()))
    left, bottom, right, top_pad = 64, 28, 16, 12
    plot_w, plot_h = width - left - right, height - bottom - top_pad
    bar_w = plot_w / len(days)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="Spend per developer per day">']
    for i in range(5):                                     # gridlines with dollar labels
        y = top_pad + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="ax">'
                     f'{_axis_money(top * i / 4, top / 4)}</text>')
    parts += _day_labels(days, left, bar_w, top_pad + plot_h + 16)
    for i, day in enumerate(days):
        x = left + i * bar_w
        y = top_pad + plot_h
        for j, s in enumerate(series):
            v = stack[day][s]
            if v <= 0:
                continue
            h = plot_h * v / top
            y -= h
            parts.append(f'<rect x="{x + bar_w * 0.12:.1f}" y="{y:.1f}" width="{bar_w * 0.76:.1f}" height="{h:.1f}" '
                         f'fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(day)} {escape(s)}: {_money(v)}</title></rect>')
    parts.append("</svg>")
    entries = [(PALETTE[j % len(PALETTE)], s,
                _money(totals[s] if s in totals else sum(totals[d] for d in ranked[MAX_SERIES:])))
               for j, s in enumerate(series)]
    return "".join(parts) + legend(entries)


def _day_labels(days: list[str], left: float, bar_w: float, y: float) -> list[str]:
    """Day labels under bars, thinned so that each has room (a label is about 40px wide)."""
    every = max(1, math.ceil(44 / bar_w))
    return [f'<text x="{left + i * bar_w + bar_w / 2:.1f}" y="{y}" text-anchor="middle" class="ax">'
            f'{escape(day[5:])}</text>' for i, day in enumerate(days) if i % every == 0]


def hits_chart(hits: dict[str, dict[str, int]], start: str | None, end: str, width: int = 860,
               height: int = 220) -> str:
    """Injection and firewall hits per day, side by side."""
    kinds = [k for k in ("injection", "firewall") if hits.get(k)]
    if not kinds:
        return '<p class="empty">No prompt-injection or agent-firewall hits in this period.</p>'
    all_days = sorted(d for k in kinds for d in hits[k])
    days = _days(min(start or all_days[0], all_days[0]), max(end, all_days[-1]))
    top = _nice_count_ceiling(max(hits[k].get(d, 0) for k in kinds for d in days))
    left, bottom, right, top_pad = 48, 28, 16, 12
    plot_w, plot_h = width - left - right, height - bottom - top_pad
    slot = plot_w / len(days)
    bar_w = slot * 0.8 / len(kinds)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             'aria-label="Prompt-injection and agent-firewall hits per day">']
    for i in range(5):
        y = top_pad + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="ax">{top * i // 4:,}</text>')
    parts += _day_labels(days, left, slot, top_pad + plot_h + 16)
    for i, day in enumerate(days):
        for j, k in enumerate(kinds):
            v = hits[k].get(day, 0)
            if not v:
                continue
            h = plot_h * v / top
            x = left + i * slot + slot * 0.1 + j * bar_w
            parts.append(f'<rect x="{x:.1f}" y="{top_pad + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                         f'fill="{HIT_COLORS[k]}"><title>{escape(day)} {k}: {v:,}</title></rect>')
    parts.append("</svg>")
    names = {"injection": "prompt-injection hits", "firewall": "agent-firewall hits"}
    return "".join(parts) + legend([(HIT_COLORS[k], names[k], f"{sum(hits[k].values()):,}") for k in kinds])


def hbar_chart(rows: list[tuple[str, int, str]], label: str, width: int = 860) -> str:
    """Horizontal bars (label, count, tooltip): label column as wide as the longest label needs."""
    if not rows:
        return ""
    labels = [_short(r[0], 44) for r in rows]
    left = min(340, int(max(len(s) for s in labels) * CHAR_W) + 16)
    top = max(r[1] for r in rows) or 1
    row_h = 24
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {row_h * len(rows) + 6}" role="img" '
             f'aria-label="{escape(label)}">']
    for i, ((_, n, tip), text) in enumerate(zip(rows, labels)):
        y = 3 + i * row_h
        w = (width - left - 70) * n / top
        parts.append(f'<text x="{left - 8}" y="{y + 14}" text-anchor="end" class="lg"><title>{escape(tip)}</title>'
                     f'{escape(text)}</text>')
        parts.append(f'<rect x="{left}" y="{y + 2}" width="{max(w, 1):.1f}" height="{row_h - 8}" fill="#e15759">'
                     f'<title>{escape(tip)}</title></rect>')
        parts.append(f'<text x="{left + w + 6:.1f}" y="{y + 14}" class="lg">{n:,}</text>')
    parts.append("</svg>")
    return "".join(parts)


def redaction_chart(view: TeamView, width: int = 860) -> str:
    """One stacked bar per developer, one colour per redacted type."""
    if not view.redactions:
        return '<p class="empty">Nothing was redacted in this period.</p>'
    types = list(view.redaction_types())
    shown = types[:MAX_SERIES]
    series = shown + (["other types"] if len(types) > MAX_SERIES else [])
    color = {t: PALETTE[j % len(PALETTE)] for j, t in enumerate(series)}
    per_dev = {dev: {t: len(v) for t, v in ts.items()} for dev, ts in view.redactions.items()}
    devs = sorted(per_dev, key=lambda d: (-sum(per_dev[d].values()), d))
    labels = [_short(d, 28) for d in devs]
    left = min(230, int(max(len(s) for s in labels) * CHAR_W) + 16)
    top = max(sum(v.values()) for v in per_dev.values())
    row_h = 26
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {row_h * len(devs) + 6}" role="img" '
             'aria-label="Redactions per developer and type">']
    for i, (dev, text) in enumerate(zip(devs, labels)):
        y = 3 + i * row_h
        parts.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end" class="lg"><title>{escape(dev)}</title>'
                     f'{escape(text)}</text>')
        x = float(left)
        counts: dict[str, int] = {}
        for t, n in per_dev[dev].items():
            s = t if t in shown else "other types"
            counts[s] = counts.get(s, 0) + n
        for s in series:
            n = counts.get(s, 0)
            if not n:
                continue
            w = (width - left - 70) * n / top
            parts.append(f'<rect x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="{row_h - 8}" fill="{color[s]}">'
                         f'<title>{escape(dev)} {escape(s)}: {n:,}</title></rect>')
            x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 15}" class="lg">{sum(per_dev[dev].values()):,}</text>')
    parts.append("</svg>")
    totals = view.redaction_types()
    entries = [(color[s], s, f"{totals[s]:,}" if s in totals else f"{sum(totals[t] for t in types[MAX_SERIES:]):,}")
               for s in series]
    return "".join(parts) + legend(entries)


def verdict_chart(counts: dict[str, int], width: int = 860) -> str:
    if not counts:
        return '<p class="empty">No decisions recorded in this period.</p>'
    order = [v for v in ("allow", "flag", "redact", "escalate", "block") if v in counts] + \
        sorted(v for v in counts if v not in VERDICT_COLORS)
    top = max(counts.values()) or 1
    row_h, left = 28, 90
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {row_h * len(order) + 8}" role="img" '
             'aria-label="Verdict counts">']
    for i, v in enumerate(order):
        w = (width - left - 80) * counts[v] / top
        y = 4 + i * row_h
        parts.append(f'<text x="{left - 8}" y="{y + 17}" text-anchor="end" class="lg">{escape(v)}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{max(w, 1):.1f}" height="{row_h - 8}" '
                     f'fill="{VERDICT_COLORS.get(v, "#bab0ac")}"/>')
        parts.append(f'<text x="{left + w + 6:.1f}" y="{y + 17}" class="lg">{counts[v]:,}</text>')
    parts.append("</svg>")
    return "".join(parts)


# ---------------------------------------------------------------------------------------------
# Tables and page

def _table(rows: list[dict], key_title: str) -> str:
    head = (f"<tr><th>{escape(key_title)}</th><th>requests</th><th>blocked</th><th>input</th><th>cached</th>"
            "<th>output</th><th>cost</th></tr>")
    body = "".join(
        f"<tr><td>{escape(str(r['key']))}</td><td>{r['requests']:,}</td><td>{r['blocked'] or 0:,}</td>"
        f"<td>{r['input_tokens']:,}</td><td>{r['cached_input_tokens']:,}</td><td>{r['output_tokens']:,}</td>"
        f"<td>{_money(r['cost_usd'])}</td></tr>" for r in rows)
    return f"<table>{head}{body}</table>"


def rules_table(view: TeamView) -> str:
    ranked = sorted(view.blocked_rules.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:TOP_RULES]
    if not ranked:
        return '<p class="empty">Nothing was blocked in this period.</p>'
    chart = hbar_chart([(f"{rule}", len(ids), f"{policy}: {rule}") for (policy, rule), ids in ranked],
                       "Top blocked rules")
    body = "".join(
        f'<tr><td>{escape(rule)}</td><td class="t">{escape(policy)}</td><td>{len(ids):,}</td>'
        f'<td class="t">{escape(", ".join(sorted(view.rule_developers[(policy, rule)])))}</td></tr>'
        for (policy, rule), ids in ranked)
    return (chart + '<table><tr><th>rule</th><th class="t">policy</th><th>blocked requests</th>'
            '<th class="t">developers</th></tr>'
            f"{body}</table>")


def developer_table(counts: list[dict], view: TeamView) -> str:
    redacted = {dev: sum(len(v) for v in ts.values()) for dev, ts in view.redactions.items()}
    head = ("<tr><th>developer</th><th>requests</th><th>blocked</th><th>redacted values</th>"
            "<th>injection hits</th><th>firewall hits</th><th>cost</th></tr>")
    body = "".join(
        f"<tr><td>{escape(str(r['key']))}</td><td>{r['requests']:,}</td><td>{r['blocked'] or 0:,}</td>"
        f"<td>{redacted.get(r['key'], 0):,}</td><td>{view.dev_hits.get(r['key'], {}).get('injection', 0):,}</td>"
        f"<td>{view.dev_hits.get(r['key'], {}).get('firewall', 0):,}</td><td>{_money(r['cost_usd'])}</td></tr>"
        for r in counts)
    return f"<table>{head}{body}</table>"


def redaction_table(view: TeamView) -> str:
    """Per developer: how many distinct values, then each type with its count (never wider than the page)."""
    if not view.redactions:
        return ""
    devs = sorted(view.redactions, key=lambda d: (-sum(len(v) for v in view.redactions[d].values()), d))

    def types(dev: str) -> str:
        by_type = sorted(((t, len(v)) for t, v in view.redactions[dev].items()), key=lambda tn: (-tn[1], tn[0]))
        return ", ".join(f"{escape(t)} {n:,}" for t, n in by_type)

    body = "".join(f'<tr><td>{escape(d)}</td><td>{sum(len(v) for v in view.redactions[d].values()):,}</td>'
                   f'<td class="t">{types(d)}</td></tr>' for d in devs)
    return ('<table><tr><th>developer</th><th>redacted values</th><th class="t">by type</th></tr>'
            f"{body}</table>")


CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:900px;color:#222;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.1rem;margin-top:2.2rem}
.sub{color:#666} .cards{display:grid;grid-template-columns:repeat(4,1fr);gap:.8rem;margin:1rem 0}
.card{border:1px solid #ddd;border-radius:8px;padding:.6rem .8rem} .card b{display:block;font-size:1.35rem}
table{border-collapse:collapse;width:100%;margin-top:.6rem} th,td{padding:.3rem .5rem;border-bottom:1px solid #eee;text-align:right}
th{font-weight:600;color:#444;vertical-align:bottom} th:first-child,td:first-child,.t{text-align:left}
.scroll{overflow-x:auto} table.small{font-size:13px}
.ax{font-size:11px;fill:#666} .lg{font-size:12px;fill:#333} .empty{color:#888} svg{display:block;width:100%;height:auto}
.legend{display:flex;flex-wrap:wrap;gap:.25rem 1.4rem;list-style:none;padding:0;margin:.4rem 0 0;font-size:12px}
.legend li{white-space:nowrap} .legend i{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:6px;vertical-align:-1px}
.legend b{font-weight:600}
"""


def render(*, daily: list[dict], verdicts: dict[str, int], by_developer: list[dict], by_model: list[dict],
           since: str | None, db: str, generated: str, view: TeamView | None = None,
           developer_counts: list[dict] | None = None, names_note: str = "") -> str:
    view = view or TeamView()
    total = sum(r["cost_usd"] for r in by_developer)
    requests = sum(r["requests"] for r in by_developer)
    blocked = verdicts.get("block", 0)
    redacted = sum(view.redaction_types().values())
    inj = sum(view.hits.get("injection", {}).values())
    fw = sum(view.hits.get("firewall", {}).values())
    period = f"since {escape(since[:16].replace('T', ' '))} UTC" if since else "all time"
    start = since[:10] if since else None
    end = generated[:10]
    cards = [("Spend", _money(total)), ("Requests", f"{requests:,}"), ("Blocked", f"{blocked:,}"),
             ("Developers", f"{len(by_developer)}"), ("Redacted values", f"{redacted:,}"),
             ("Injection hits", f"{inj:,}"), ("Firewall hits", f"{fw:,}"),
             ("Verdicts", f"{sum(verdicts.values()):,}")]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Keeptrusts Gateway report</title>
<style>{CSS}</style></head><body>
<h1>Keeptrusts Gateway report</h1>
<p class="sub">{period} &middot; {escape(db)} &middot; generated {escape(generated)}</p>
<div class="cards">{"".join(f'<div class="card">{k}<b>{v}</b></div>' for k, v in cards)}</div>
<h2>Developers</h2>
{developer_table(developer_counts or [], view)}
<p class="sub">{escape(names_note)}</p>
<h2>Top blocked rules</h2>
{rules_table(view)}
<h2>Redactions per developer and type</h2>
{redaction_chart(view)}
{redaction_table(view)}
<p class="sub">Distinct values: the same secret resent in a later turn counts once.</p>
<h2>Prompt-injection and agent-firewall hits per day</h2>
{hits_chart(view.hits, start, end)}
<p class="sub">New hits: an item Codex resends in later turns counts on the day it was first found.</p>
<h2>Spend per developer per day</h2>
{spend_chart(daily, start, end)}
<h2>Verdicts</h2>
{verdict_chart(verdicts)}
<h2>Spend by developer</h2>
{_table(by_developer, "developer")}
<h2>Spend by model</h2>
{_table(by_model, "model")}
<p class="sub">Costs use the price table shipped with the gateway (USD per 1M tokens) or the target's
<code>pricing</code> override; unknown models count tokens at $0.</p>
</body></html>
"""
