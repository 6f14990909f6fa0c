"""`kt report`: one self-contained HTML page (no scripts, no external files) with inline SVG charts:
spend per developer per day (stacked bars), verdict counts, and the spend tables behind them.

Every name shown comes from request headers or tokens, so everything is HTML-escaped.
"""
from __future__ import annotations

import datetime as dt
from html import escape

PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#bab0ac"]
VERDICT_COLORS = {"allow": "#59a14f", "flag": "#edc948", "redact": "#4e79a7", "escalate": "#f28e2b",
                  "block": "#e15759"}
MAX_SERIES = 9          # developers drawn separately; the rest are "others"


def _money(v: float) -> str:
    return f"${v:,.2f}" if v >= 1 or v == 0 else f"${v:.4f}"


def _nice_ceiling(v: float) -> float:
    """The axis top: 1, 2, 2.5 or 5 times a power of ten, at or above v."""
    import math
    if v <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if m * exp >= v * 1.0001:
            return m * exp
    return 10 * exp


def _axis_money(v: float, step: float) -> str:
    if step >= 1:
        return f"${v:,.0f}"
    decimals = max(2, -int(__import__("math").floor(__import__("math").log10(step))))
    return f"${v:,.{decimals}f}"


def _days(start: str, end: str) -> list[str]:
    d0, d1 = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    return [(d0 + dt.timedelta(days=i)).isoformat() for i in range((d1 - d0).days + 1)]


def spend_chart(daily: list[dict], width: int = 860, height: int = 300) -> str:
    """Stacked bars: one per day, one colour per developer."""
    if not daily:
        return '<p class="empty">No spend recorded in this period.</p>'
    totals: dict[str, float] = {}
    for r in daily:
        totals[r["developer"]] = totals.get(r["developer"], 0.0) + r["cost_usd"]
    ranked = sorted(totals, key=lambda d: -totals[d])
    shown = ranked[:MAX_SERIES]
    series = shown + (["others"] if len(ranked) > MAX_SERIES else [])
    days = _days(daily[0]["day"], daily[-1]["day"])
    stack = {d: {s: 0.0 for s in series} for d in days}
    for r in daily:
        s = r["developer"] if r["developer"] in shown else "others"
        stack[r["day"]][s] += r["cost_usd"]
    top = _nice_ceiling(max(sum(v.values()) for v in stack.values()))
    left, bottom, right, top_pad = 64, 40, 16, 16
    plot_w, plot_h = width - left - right, height - bottom - top_pad
    bar_w = plot_w / len(days)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height + 24 * ((len(series) + 4) // 5)}" '
             f'role="img" aria-label="Spend per developer per day">']
    for i in range(5):                                     # gridlines with dollar labels
        y = top_pad + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="ax">'
                     f'{_axis_money(top * i / 4, top / 4)}</text>')
    label_every = max(1, len(days) // 10)
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
        if i % label_every == 0:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{top_pad + plot_h + 16}" text-anchor="middle" '
                         f'class="ax">{escape(day[5:])}</text>')
    for j, s in enumerate(series):                         # legend
        lx, ly = 8 + (j % 5) * 170, height + 8 + 24 * (j // 5)
        parts.append(f'<rect x="{lx}" y="{ly}" width="12" height="12" fill="{PALETTE[j % len(PALETTE)]}"/>')
        total = totals[s] if s in totals else sum(totals[d] for d in ranked[MAX_SERIES:])
        name = s if len(s) <= 14 else s[:13] + "\u2026"
        parts.append(f'<text x="{lx + 18}" y="{ly + 11}" class="lg"><title>{escape(s)}</title>'
                     f'{escape(name)} {_money(total)}</text>')
    parts.append("</svg>")
    return "".join(parts)


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


def _table(rows: list[dict], key_title: str) -> str:
    head = (f"<tr><th>{escape(key_title)}</th><th>requests</th><th>blocked</th><th>input</th><th>cached</th>"
            "<th>output</th><th>cost</th></tr>")
    body = "".join(
        f"<tr><td>{escape(str(r['key']))}</td><td>{r['requests']:,}</td><td>{r['blocked'] or 0:,}</td>"
        f"<td>{r['input_tokens']:,}</td><td>{r['cached_input_tokens']:,}</td><td>{r['output_tokens']:,}</td>"
        f"<td>{_money(r['cost_usd'])}</td></tr>" for r in rows)
    return f"<table>{head}{body}</table>"


def render(*, daily: list[dict], verdicts: dict[str, int], by_developer: list[dict], by_model: list[dict],
           since: str | None, db: str, generated: str) -> str:
    total = sum(r["cost_usd"] for r in by_developer)
    requests = sum(r["requests"] for r in by_developer)
    blocked = verdicts.get("block", 0)
    period = f"since {escape(since)}" if since else "all time"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Keeptrusts Gateway report</title>
<style>
body{{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:900px;color:#222}}
h1{{font-size:1.5rem;margin-bottom:.2rem}} h2{{font-size:1.1rem;margin-top:2rem}}
.sub{{color:#666}} .cards{{display:flex;gap:1rem;margin:1rem 0}}
.card{{flex:1;border:1px solid #ddd;border-radius:8px;padding:.8rem}} .card b{{display:block;font-size:1.4rem}}
table{{border-collapse:collapse;width:100%}} th,td{{padding:.3rem .5rem;border-bottom:1px solid #eee;text-align:right}}
th:first-child,td:first-child{{text-align:left}} .ax{{font-size:11px;fill:#666}} .lg{{font-size:12px;fill:#333}}
.empty{{color:#888}}
</style></head><body>
<h1>Keeptrusts Gateway report</h1>
<p class="sub">{period} &middot; {escape(db)} &middot; generated {escape(generated)}</p>
<div class="cards"><div class="card">Spend<b>{_money(total)}</b></div><div class="card">Requests<b>{requests:,}</b></div>
<div class="card">Blocked<b>{blocked:,}</b></div><div class="card">Developers<b>{len(by_developer)}</b></div></div>
<h2>Spend per developer per day</h2>
{spend_chart(daily)}
<h2>Verdicts</h2>
{verdict_chart(verdicts)}
<h2>By developer</h2>
{_table(by_developer, "developer")}
<h2>By model</h2>
{_table(by_model, "model")}
<p class="sub">Costs use the price table shipped with the gateway (USD per 1M tokens) or the target's
<code>pricing</code> override; unknown models count tokens at $0.</p>
</body></html>
"""
