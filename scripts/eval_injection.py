#!/usr/bin/env python3
"""Measures the prompt-injection policy: detection rate per family, false positives on benign
code and docs from this machine, and scan throughput on one core.

    .venv/bin/python scripts/eval_injection.py                  # full run (a minute or two)
    .venv/bin/python scripts/eval_injection.py --per-family 50 --benign 300   # quick
    .venv/bin/python scripts/eval_injection.py --show-misses 20 --show-fp 20

Judged with the policy options of policies/codex-cli.yaml (or --config): an attack counts as
detected when its segment gets any action (block, neutralize, flag); a benign chunk is a false
positive on any action. Attacks are scanned as the source they come from (tool outputs, or user
messages for direct jailbreaks); benign chunks as tool outputs, the strict setting.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

import injection_corpus as corpus  # noqa: E402

from keeptrusts.config import load_config  # noqa: E402
from keeptrusts.policies.prompt_injection import PromptInjection  # noqa: E402


def action_of(policy: PromptInjection, text: str, source: str) -> tuple[str, float, list]:
    report = policy.scanner.scan(text, untrusted=source not in ("user", "system"))
    action = policy.action_for(source, report.score) if report.hits else "allow"
    return action, report.score, report.hits


def jsonl(name: str) -> list[dict]:
    path = ROOT / "tests/data/injection" / name
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def hard_benign() -> list[dict]:
    return jsonl("benign_hard.jsonl")


def handwritten(policy: PromptInjection, name: str, seed: int) -> dict:
    """A hand-written set: each text put in a random carrier (a tool output) or typed by the user."""
    import random
    r = random.Random(seed)
    out = {"attacks": 0, "detected": 0, "benign": 0, "fp": 0, "misses": [], "fps": []}
    for row in jsonl(name):
        source = "user" if row.get("family") == "direct" else "tool_output"
        text = row["text"] if source == "user" else r.choice(corpus.CARRIERS)(row["text"], r)
        action, score, hits = action_of(policy, text, source)
        if row["label"] == "attack":
            out["attacks"] += 1
            out["detected"] += action != "allow"
            if action == "allow":
                out["misses"].append(f"{row['family']}: {row['text'][:90]!r} (score {score})")
        else:
            out["benign"] += 1
            out["fp"] += action != "allow"
            if action != "allow":
                out["fps"].append(f"{action} {score}: {row['text'][:90]!r}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(ROOT / "policies/codex-cli.yaml"))
    ap.add_argument("--per-family", type=int, default=300, help="attack samples per family")
    ap.add_argument("--benign", type=int, default=2500, help="benign chunks per source set")
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--show-misses", type=int, default=0)
    ap.add_argument("--show-fp", type=int, default=10)
    ap.add_argument("--no-hyperscan", action="store_true", help="measure the pure-Python fallback")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()

    options = load_config(a.config).policy_options.get("prompt-injection", {})
    policy = PromptInjection(options)
    if a.no_hyperscan:
        from keeptrusts.injection import Scanner
        policy.scanner = Scanner(use_hyperscan=False)

    # Attacks
    samples = corpus.attacks(a.per_family, a.seed)
    per = defaultdict(Counter)
    misses = []
    for s in samples:
        action, score, hits = action_of(policy, s["text"], s["source"])
        c = per[s["family"]]
        c["n"] += 1
        c[action] += 1
        c["detected"] += action != "allow"
        per[f"{s['family']}/{s['technique']}"]["n"] += 1
        per[f"{s['family']}/{s['technique']}"]["detected"] += action != "allow"
        if action == "allow":
            misses.append((score, s))
    total_n = sum(c["n"] for k, c in per.items() if "/" not in k)
    total_d = sum(c["detected"] for k, c in per.items() if "/" not in k)

    # Benign controls
    chunks = corpus.benign(a.benign, a.seed) + [{"source_set": "hard_benign", "path": h.get("name", ""), "offset": 0,
                                                 "text": h["text"]} for h in hard_benign()]
    fp = defaultdict(Counter)
    fps = []
    scanner = policy.scanner
    nbytes = 0
    cpu = 0.0
    for ch in chunks:
        t0 = time.process_time()
        report = scanner.scan(ch["text"], untrusted=True)
        cpu += time.process_time() - t0
        nbytes += len(ch["text"].encode("utf-8", "surrogatepass"))
        action = policy.action_for("tool_output", report.score) if report.hits else "allow"
        c = fp[ch["source_set"]]
        c["n"] += 1
        c["bytes"] += len(ch["text"])
        if action != "allow":
            c["fp"] += 1
            fps.append((report.score, ch, action, report.hits))
    benign_n = sum(c["n"] for c in fp.values())
    benign_fp = sum(c["fp"] for c in fp.values())

    sets = {name: handwritten(policy, f"{name}.jsonl", a.seed)
            for name in ("handwritten_dev", "handwritten_dev2", "handwritten_dev3", "handwritten_dev4", "heldout") if (ROOT / "tests/data/injection" / f"{name}.jsonl").exists()}

    result = {
        "engine": scanner.engine.name,
        "handwritten": {k: {x: v[x] for x in ("attacks", "detected", "benign", "fp")} for k, v in sets.items()},
        "families": {k: {"n": c["n"], "detected": c["detected"], "rate": round(c["detected"] / c["n"], 4),
                         **({"block": c["block"], "neutralize": c["neutralize"], "flag": c["flag"]} if "/" not in k else {})}
                     for k, c in sorted(per.items())},
        "detection_overall": round(total_d / total_n, 4),
        "benign": {k: {"chunks": c["n"], "mb": round(c["bytes"] / 1e6, 2), "fp": c["fp"]} for k, c in fp.items()},
        "fp_rate": round(benign_fp / benign_n, 5),
        "throughput_mb_s": round(nbytes / 1e6 / cpu, 1) if cpu else None,
        "benign_mb": round(nbytes / 1e6, 1),
    }
    if a.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"engine: {result['engine']}\n")
    print(f"{'family / technique':44} {'n':>5} {'detected':>9}  block neutralize flag")
    for k, v in result["families"].items():
        indent = "    " if "/" in k else ""
        extra = f"  {v['block']:>5} {v['neutralize']:>10} {v['flag']:>4}" if "/" not in k else ""
        print(f"{indent + k:44} {v['n']:>5} {v['rate']:>9.1%}{extra}")
    print(f"\noverall detection: {total_d}/{total_n} = {result['detection_overall']:.1%}")
    print(f"\n{'benign set':20} {'chunks':>7} {'MB':>7} {'FP':>4}")
    for k, v in result["benign"].items():
        print(f"{k:20} {v['chunks']:>7} {v['mb']:>7} {v['fp']:>4}")
    print(f"false positives: {benign_fp}/{benign_n} = {result['fp_rate']:.3%}")
    print(f"throughput: {result['throughput_mb_s']} MB/s on one core ({result['benign_mb']} MB of benign text, CPU time)")
    print("\nhand-written sets (each text in a random carrier). The dev sets were used while writing rules; dev2-4\n"
          "were held-out sets first, each measured once before any rule saw it: dev2 41/50 detected and 2/40 hard\n"
          "benign flagged, dev3 30/50 and 3/40, dev4 27/50 and 1/40. 'heldout' was measured once (32/50, 0/40); since\n"
          "then only two Unicode-folding bugs it exposed were fixed (small capitals, number forms), no phrasing rules:")
    for name, v in sets.items():
        print(f"  {name:16} attacks detected {v['detected']}/{v['attacks']} = {v['detected'] / v['attacks']:.1%}   "
              f"hard benign flagged {v['fp']}/{v['benign']} = {v['fp'] / v['benign']:.1%}")
        for line in (v["misses"] + v["fps"])[:a.show_misses]:
            print(f"      {line}")
    for score, s in sorted(misses, key=lambda x: -x[0])[:a.show_misses]:
        print(f"\nMISS {s['family']}/{s['technique']} in {s['carrier']} score={score}: {s['text'][:300]!r}")
    for score, ch, action, hits in sorted(fps, key=lambda x: -x[0])[:a.show_fp]:
        print(f"\nFP {action} {score} {ch['path']}@{ch['offset']}: " + "; ".join(f"{h.rule}={h.weight:.2f} {h.evidence!r}" for h in hits[:4]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
