#!/usr/bin/env python3
"""Measure the safety-filter's defaults on the prompt corpora in scripts/corpus/.

    .venv/bin/python scripts/eval_safety.py [-v]

Reports the false-positive rate on ordinary coding prompts (target 0), the detection rate on
prompts with unsafe intent, and the scan time per prompt. Exit status 1 on a false positive.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from keeptrusts.policies.safety_filter import SafetyFilter  # noqa: E402

CORPUS = ROOT / "scripts" / "corpus"


def lines(name: str) -> list[str]:
    return [x.strip() for x in (CORPUS / name).read_text().splitlines() if x.strip() and not x.startswith("#")]


def run(verbose: bool = False) -> dict:
    out = {}
    for label, name, want in (("benign", "safety_benign.txt", False), ("unsafe", "safety_unsafe.txt", True)):
        sf = SafetyFilter({})          # fresh: no cache hits in the timing
        wrong, times = [], []
        for text in lines(name):
            t0 = time.perf_counter()
            findings = sf.scan(text, "user").findings
            times.append((time.perf_counter() - t0) * 1000)
            if bool(findings) != want:
                wrong.append(text)
            if verbose:
                tag = ",".join(f"{f.type}:{f.rule}:{f.score}" for f in findings) or "-"
                print(f"{'MISS ' if bool(findings) != want else ''}{tag:50} {text}")
        out[label] = {"count": len(times), "wrong": wrong, "median_ms": round(statistics.median(times), 3)}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-v", "--verbose", action="store_true")
    r = run(ap.parse_args().verbose)
    b, u = r["benign"], r["unsafe"]
    print(f"benign: {b['count']} prompts, flagged {len(b['wrong'])} ({len(b['wrong']) / b['count']:.1%}), "
          f"median {b['median_ms']} ms")
    print(f"unsafe: {u['count']} prompts, caught {u['count'] - len(u['wrong'])} "
          f"({(u['count'] - len(u['wrong'])) / u['count']:.1%}), median {u['median_ms']} ms")
    for t in b["wrong"]:
        print("  false positive:", t)
    for t in u["wrong"]:
        print("  missed:", t)
    return 1 if b["wrong"] else 0


if __name__ == "__main__":
    sys.exit(main())
