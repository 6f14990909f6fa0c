#!/usr/bin/env python3
"""Scan speed of pii-detector + code-sanitation on real source code, on one core.

1. Cold throughput (MB/s): every segment is new to the policies (empty cache), as on the first turn
   of a session or a big tool output. Both policies together, as the gateway chains them.
2. A 40-turn growing Codex session: each turn resends the whole history plus one new ~2 KB tool
   output; the per-turn policy time (median, p95) shows the content-hash cache at work.

    .venv/bin/python scripts/bench_scan.py                  # ~8 MB of stdlib + npm code, and 8 MB of prose
    .venv/bin/python scripts/bench_scan.py --mb 2 --segment-kb 16 --json

The target (issue 4) is >= 20 MB/s cold for both policies together.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import sysconfig
import time
from pathlib import Path


def corpus(mb: float, seed: int) -> list[str]:
    """Real code files (Python stdlib, JavaScript from npm), shuffled, up to `mb` megabytes."""
    files = [p for p in Path(sysconfig.get_paths()["stdlib"]).rglob("*.py") if "site-packages" not in p.parts]
    for root in (Path("/usr/lib/node_modules"), Path("/usr/local/lib/node_modules")):
        if root.is_dir():
            files += list(root.rglob("*.js"))
    random.Random(seed).shuffle(files)
    out, size = [], 0
    for f in files:
        try:
            text = f.read_text("utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        out.append(text)
        size += len(text.encode())
        if size >= mb * 1_000_000:
            break
    return out


def prose(mb: float, seed: int) -> list[str]:
    """English prose: the Python reference's topic texts (pydoc_data) and the licence texts shipped in
    installed packages, shuffled, up to `mb` megabytes (repeated if the machine has less)."""
    from pydoc_data.topics import topics

    texts = list(topics.values())
    site = Path(sysconfig.get_paths()["purelib"])
    for f in list(site.glob("*.dist-info/LICEN[CS]E*")) + list(site.glob("*.dist-info/licenses/*")):
        try:
            texts.append(f.read_text("utf-8"))
        except (UnicodeDecodeError, OSError, IsADirectoryError):
            continue
    random.Random(seed).shuffle(texts)
    out, size = [], 0
    while size < mb * 1_000_000:
        for t in texts:
            out.append(t)
            size += len(t.encode())
            if size >= mb * 1_000_000:
                break
    return out


def segments(texts: list[str], kb: int) -> list[str]:
    """Cut the corpus into tool-output-sized segments."""
    blob = "\n".join(texts)
    step = kb * 1000
    return [blob[i:i + step] for i in range(0, len(blob), step)]


def fresh_policies():
    from keeptrusts.policies.base import PolicyContext
    from keeptrusts.policies.code_sanitation import CodeSanitation
    from keeptrusts.policies.pii_detector import PiiDetector
    from keeptrusts.redaction import Redactor

    ctx = PolicyContext(redactor=Redactor(b"bench" * 7))
    return [PiiDetector({}, ctx), CodeSanitation({}, ctx)]


def cold_throughput(segs: list[str], which: str = "both", repeat: int = 5) -> dict:
    """Median of `repeat` runs, each with fresh policies (empty caches); the machine may be shared."""
    runs = [_cold_once(segs, which) for _ in range(repeat)]
    runs.sort(key=lambda r: r["mb_per_s"])
    med = runs[len(runs) // 2]
    return {**med, "runs": repeat, "min_mb_per_s": runs[0]["mb_per_s"], "max_mb_per_s": runs[-1]["mb_per_s"]}


def _cold_once(segs: list[str], which: str) -> dict:
    pols = fresh_policies()
    if which != "both":
        pols = [p for p in pols if p.kind == which]
    for p in pols:                      # build engines (hyperscan compile) outside the timing
        p.scan("warm up", "tool_output")
    nbytes = sum(len(s.encode()) for s in segs)
    t0 = time.perf_counter()
    redactions = 0
    for s in segs:
        for p in pols:
            res = p.cached_scan(s, "tool_output")
            redactions += sum(1 for f in res.findings if f.placeholder)
            s = res.text
    dt = time.perf_counter() - t0
    return {"policies": which, "mb": round(nbytes / 1e6, 2), "seconds": round(dt, 3),
            "mb_per_s": round(nbytes / 1e6 / dt, 1), "redactions": redactions}


def session(texts: list[str], turns: int = 40, item_kb: int = 12) -> dict:
    """Per-turn policy time over a growing history resent every turn (SSE transport, Codex-sized:
    ~24 KB of instructions, a ~12 KB tool output per turn, ~500 KB by turn 40). Each turn's texts
    are fresh string objects, as when the wire layer parses the resent body."""
    from keeptrusts.exchange import Exchange, Segment

    pols = fresh_policies()
    blob = "\n".join(texts)
    items: list[Segment] = [Segment(("instructions",), "system", blob[-24_000:])]
    times = []
    for turn in range(turns):
        off = turn * item_kb * 1000
        items.append(Segment(("input", len(items), "content"), "user", f"turn {turn}: fix the failing test"))
        items.append(Segment(("input", len(items), "output"), "tool_output", blob[off:off + item_kb * 1000],
                             call_id=f"call_{turn}"))
        # A fresh Exchange each turn, as the wire layer builds it from the resent body.
        ex = Exchange(api="responses", transport="sse",
                      segments=[Segment(s.path, s.kind, (s.original + " ")[:-1], call_id=s.call_id) for s in items])
        t0 = time.perf_counter()
        for p in pols:
            p.request(ex)
        times.append((time.perf_counter() - t0) * 1000)
    hist_kb = sum(len(s.original) for s in items) / 1000
    return {"turns": turns, "history_kb_last_turn": round(hist_kb), "median_ms": round(statistics.median(times), 3),
            "p95_ms": round(sorted(times)[int(0.95 * len(times)) - 1], 3), "max_ms": round(max(times), 3)}


# Inputs that once made a regex or the overlap resolution quadratic: one long line full of hits.
ADVERSARIAL = {
    "dotted numbers": lambda: ".".join(["1"] * 200_000),
    "hex with colons": lambda: ":".join(["ab"] * 100_000),
    "token: x 50k times": lambda: "token: " * 50_000,
    "emails on one line": lambda: "a@b.co " * 50_000,
    "minified JS": lambda: 'var a={token:"x",password:b,name:"Sam Smith"};' * 20_000,
    "PEM headers only": lambda: "-----BEGIN RSA PRIVATE KEY-----\n" * 20_000,
    "phone numbers": lambda: "+1 415 555 0100 " * 30_000,
    "card numbers": lambda: "4539 1488 0343 6467 " * 30_000,
}


def adversarial() -> list[dict]:
    pols = fresh_policies()
    out = []
    for name, make in ADVERSARIAL.items():
        text = make()
        t0 = time.perf_counter()
        for p in pols:
            text = p.scan(text, "tool_output").text
        dt = time.perf_counter() - t0
        out.append({"input": name, "mb": round(len(make()) / 1e6, 2), "seconds": round(dt, 3)})
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=float, default=8.0, help="megabytes of real code to scan")
    ap.add_argument("--segment-kb", type=int, default=32, help="segment size (a tool output)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=5, help="cold runs per measurement (median reported)")
    ap.add_argument("--adversarial", action="store_true", help="also time pathological inputs (worst cases)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})   # one core
    texts = corpus(args.mb, args.seed)
    segs = segments(texts, args.segment_kb)
    prose_segs = segments(prose(args.mb, args.seed), args.segment_kb)
    from keeptrusts.recognizers import engine
    result = {
        "multi_pattern_engine": "hyperscan" if engine.hyperscan is not None else "python re",
        "segment_kb": args.segment_kb,
        "cold": [cold_throughput(segs, w, args.repeat) for w in ("both", "pii-detector", "code-sanitation")],
        "cold_prose": [cold_throughput(prose_segs, w, args.repeat) for w in ("both", "pii-detector", "code-sanitation")],
        "session": session(texts),
    }
    if args.adversarial:
        result["adversarial"] = adversarial()
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"engine: {result['multi_pattern_engine']}, one core, {args.segment_kb} KB segments of real code")
    for c in result["cold"] + [dict(c, policies=c["policies"] + " (prose)") for c in result["cold_prose"]]:
        print(f"cold  {c['policies']:<24} {c['mb']:>6} MB: median {c['mb_per_s']:>6} MB/s "
              f"(min {c['min_mb_per_s']}, max {c['max_mb_per_s']}, {c['runs']} runs)  {c['redactions']} redactions")
    s = result["session"]
    print(f"session {s['turns']} turns (history {s['history_kb_last_turn']} KB at the end): per-turn policy time "
          f"median {s['median_ms']} ms, p95 {s['p95_ms']} ms, max {s['max_ms']} ms")
    for a in result.get("adversarial", []):
        print(f"worst case  {a['input']:<20} {a['mb']:>5} MB in {a['seconds']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
