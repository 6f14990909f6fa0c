"""docs/bench-latency.svg: latency per turn against request size (SSE, full history), gateway vs bare mitmdump.

Hand-written SVG (no plotting dependency): median over repetitions per turn for the direct fake,
bare mitmdump and the gateway, plus the gateway's added latency over mitmdump.
"""
from __future__ import annotations

import math
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SVG = ROOT / "docs" / "bench-latency.svg"
COLORS = {"direct": "#999999", "mitmdump": "#1f77b4", "gateway": "#d62728", "added": "#2ca02c"}
W, H, L, R, T, B = 760, 420, 60, 150, 40, 50


def series(rows: list[dict], transport: str = "sse") -> dict[str, list[tuple[float, float]]]:
    by: dict[tuple[str, int], list[dict]] = {}
    for r in rows:
        if r["transport"] == transport and r["ok"]:
            by.setdefault((r["target"], r["turn"]), []).append(r)
    out: dict[str, list[tuple[float, float]]] = {}
    turns = sorted({t for _, t in by})
    for target in ("direct", "mitmdump", "gateway"):
        pts = []
        for t in turns:
            rs = by.get((target, t))
            if rs:
                pts.append((statistics.median(r["bytes"] for r in rs) / 1024, statistics.median(r["total_ms"] for r in rs)))
        out[target] = pts
    g, m = dict(out["gateway"]), dict(out["mitmdump"])
    out["added"] = [(x, g[x] - m[x]) for x in g if x in m]
    return out


def write_svg(data: dict, path: Path = SVG) -> Path:
    s = series(data["rows"])
    xs = [x for pts in s.values() for x, _ in pts]
    ys = [y for pts in s.values() for _, y in pts]
    xmax = max(xs) * 1.05
    ymin, ymax = min(0.0, min(ys)), math.ceil(max(ys) * 1.1 / 10) * 10
    px = lambda x: L + (W - L - R) * x / xmax  # noqa: E731
    py = lambda y: H - B - (H - T - B) * (y - ymin) / (ymax - ymin)  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2 - 40}" y="20" text-anchor="middle" font-size="14">Latency per turn vs request size '
           f'(SSE, full history, median of {data["reps"]} sessions)</text>']
    for i in range(6):  # grid and axes labels
        yv = ymin + (ymax - ymin) * i / 5
        out.append(f'<line x1="{L}" x2="{W - R}" y1="{py(yv):.1f}" y2="{py(yv):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{L - 6}" y="{py(yv) + 4:.1f}" text-anchor="end">{yv:.0f}</text>')
        xv = xmax * i / 5
        out.append(f'<text x="{px(xv):.1f}" y="{H - B + 16}" text-anchor="middle">{xv:.0f}</text>')
    out.append(f'<line x1="{L}" x2="{W - R}" y1="{py(0):.1f}" y2="{py(0):.1f}" stroke="#888"/>')
    out.append(f'<line x1="{L}" x2="{L}" y1="{T}" y2="{H - B}" stroke="#888"/>')
    out.append(f'<text x="{(L + W - R) / 2}" y="{H - 12}" text-anchor="middle">request size (KB)</text>')
    out.append(f'<text x="16" y="{(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 16 {(T + H - B) / 2})">'
               'time to last byte (ms)</text>')
    labels = {"direct": "fake upstream, direct", "mitmdump": "bare mitmdump", "gateway": "gateway, full chain",
              "added": "added: gateway - mitmdump"}
    for n, (name, pts) in enumerate(s.items()):
        if not pts:
            continue
        d = " ".join(f"{'M' if i == 0 else 'L'}{px(x):.1f},{py(y):.1f}" for i, (x, y) in enumerate(pts))
        dash = ' stroke-dasharray="5,3"' if name == "added" else ""
        out.append(f'<path d="{d}" fill="none" stroke="{COLORS[name]}" stroke-width="2"{dash}/>')
        ly = T + 10 + n * 20
        out.append(f'<line x1="{W - R + 10}" x2="{W - R + 30}" y1="{ly}" y2="{ly}" stroke="{COLORS[name]}" '
                   f'stroke-width="2"{dash}/>')
        out.append(f'<text x="{W - R + 34}" y="{ly + 4}" font-size="10">{labels[name]}</text>')
    out.append("</svg>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out) + "\n")
    return path
