#!/usr/bin/env python3
"""Measure the agent-firewall's default rules on the command corpora in scripts/corpus/.

    .venv/bin/python scripts/eval_commands.py            # summary
    .venv/bin/python scripts/eval_commands.py -v         # every command with its verdict
    .venv/bin/python scripts/eval_commands.py --json

Reports the false-block rate on ordinary agent commands (target 0), the block rate on dangerous
ones (target 100%), and the judge latency per tool call (median / p95 / max in ms, best of 3 runs
of each call), all with the
policy config of policies/codex-cli.yaml and the workspace /home/dev/project.
Exit status 1 when a target is missed.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from keeptrusts.config import load_config  # noqa: E402
from keeptrusts.exchange import Exchange, OutputItem  # noqa: E402
from keeptrusts.policies.agent_firewall import AgentFirewall  # noqa: E402
from keeptrusts.policies.base import PolicyContext  # noqa: E402

CORPUS = ROOT / "scripts" / "corpus"
WORKSPACE = "/home/dev/project"
HEREDOC = re.compile(r"<<-?\s*['\"]?([A-Za-z_][A-Za-z0-9_]*)['\"]?")


def load_commands(path: Path) -> list[str]:
    """One command per line; `#` comments; a line opening a heredoc runs to its delimiter;
    lines between two `%%` lines are one command."""
    out: list[str] = []
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line == "%%":   # an explicit multi-line command
            end = lines.index("%%", i)
            out.append("\n".join(lines[i:end]))
            i = end + 1
            continue
        m = HEREDOC.search(line)
        if m and "<<<" not in line:
            body = [line]
            while i < len(lines):
                body.append(lines[i])
                i += 1
                if body[-1].strip() == m.group(1):
                    break
            line = "\n".join(body)
        out.append(line)
    return out


def load_calls(path: Path) -> list[dict]:
    """JSON lines: {"kind": ..., "name": ..., "text": ...} (text may be an object: it is dumped)."""
    calls = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            d = json.loads(line)
            if not isinstance(d["text"], str):
                d["text"] = json.dumps(d["text"])
            calls.append(d)
    return calls


def make_firewall(config: Path = ROOT / "policies" / "codex-cli.yaml") -> AgentFirewall:
    cfg = load_config(config)
    return AgentFirewall(cfg.policy_options.get("agent-firewall", {}),
                         PolicyContext(workspace=WORKSPACE, extra={"home": "/home/dev"}))


def judge(fw: AgentFirewall, call: dict) -> tuple[str, str, float]:
    ex = Exchange(api="responses", transport="sse", session_id=None)
    item = OutputItem(call["kind"], call["text"], name=call.get("name"), call_id="c1")
    t0 = time.perf_counter()
    v = fw.output_item(ex, item)
    ms = (time.perf_counter() - t0) * 1000
    return v.verdict, v.message or v.reason_code, ms


def as_call(cmd: str) -> dict:
    return {"kind": "function_call", "name": "exec_command", "text": json.dumps({"cmd": cmd, "workdir": WORKSPACE})}


def run(verbose: bool = False) -> dict:
    fw = make_firewall()
    # The corpus is one long "session": per-session caps and the kill switch are not under test here
    # (with them on, later calls would be refused without being parsed).
    fw.max_actions = None
    fw.max_errors = None
    results = {}
    for label, cmd_file, call_file, want in (
            ("ordinary", "ordinary_commands.txt", "ordinary_calls.jsonl", "pass"),
            ("dangerous", "dangerous_commands.txt", "dangerous_calls.jsonl", "block")):
        calls = [as_call(c) for c in load_commands(CORPUS / cmd_file)]
        if (CORPUS / call_file).exists():
            calls += load_calls(CORPUS / call_file)
        times, wrong, warned = [], [], 0
        for call in calls:
            verdict, msg, ms = judge(fw, call)
            # best of 3: the judge's own cost, without the scheduler noise of a busy machine
            times.append(min([ms] + [judge(fw, call)[2] for _ in range(2)]))
            warned += verdict == "flag"
            bad = (verdict == "block") if want == "pass" else (verdict != "block")
            if bad:
                wrong.append({"call": call, "verdict": verdict, "message": msg})
            if verbose:
                shown = json.loads(call["text"]).get("cmd") if call["name"] == "exec_command" else call["text"]
                print(f"{'MISS ' if bad else ''}{verdict:5} {str(shown)[:110]!r} -> {msg[:120]}")
        times.sort()
        results[label] = {
            "count": len(calls),
            "wrong": len(wrong),
            "rate": round((len(calls) - len(wrong)) / len(calls), 4) if want == "block" else round(len(wrong) / len(calls), 4),
            "warned": warned,
            "latency_ms": {"median": round(statistics.median(times), 3),
                           "p95": round(times[int(len(times) * 0.95) - 1], 3), "max": round(times[-1], 3)},
            "misses": wrong,
        }
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    r = run(args.verbose)
    if args.json:
        print(json.dumps(r, indent=2))
    else:
        o, d = r["ordinary"], r["dangerous"]
        print(f"ordinary:  {o['count']} calls, false blocks {o['wrong']} ({o['rate']:.2%}), warnings {o['warned']}, "
              f"judge latency median {o['latency_ms']['median']} ms p95 {o['latency_ms']['p95']} ms max {o['latency_ms']['max']} ms")
        print(f"dangerous: {d['count']} calls, blocked {d['count'] - d['wrong']} ({d['rate']:.2%}), "
              f"judge latency median {d['latency_ms']['median']} ms p95 {d['latency_ms']['p95']} ms max {d['latency_ms']['max']} ms")
        for m in o["misses"] + d["misses"]:
            print(f"  MISS {m['verdict']}: {m['call']['text'][:140]} -> {m['message'][:100]}")
    return 0 if r["ordinary"]["wrong"] == 0 and r["dangerous"]["wrong"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
