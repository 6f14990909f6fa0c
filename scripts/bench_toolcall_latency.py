#!/usr/bin/env python3
"""Added latency of the tool-call policies in the stream, through the real gateway.

    .venv/bin/python scripts/bench_toolcall_latency.py [-n 60]

Starts the fake OpenAI upstream (tests/fake_openai) and two gateways on ephemeral ports: one with
policies/codex-cli.yaml, one with the same pack minus agent-firewall, safety-filter and
quality-scorer. Sends the same streamed Responses turn (a text answer, then an exec_command tool
call) alternately to the fake directly and to each gateway, and reports the median / p90 time to
the first text delta and to the released tool call (`response.output_item.done`). The policies'
added latency is the difference between the two gateways (noisy on a busy machine), and, exactly,
the time the chain measured in each policy hook (from the audit rows).
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fake_openai import FakeOpenAI, Text, call  # noqa: E402
from gateway_proc import Gateway, audit_rows  # noqa: E402

OURS = ("agent-firewall", "safety-filter", "quality-scorer")


def one_turn(base: str) -> tuple[float, float]:
    body = {"model": "gpt-5", "stream": True, "input": "Run the tests and tell me what fails."}
    t0 = time.perf_counter()
    first = tool = None
    with httpx.stream("POST", base + "/responses", json=body, headers={"authorization": "Bearer sk-bench"},
                      timeout=30) as r:
        for line in r.iter_lines():
            if not line.startswith("data: "):
                continue
            ev = json.loads(line[6:])
            if first is None and ev["type"] == "response.output_text.delta":
                first = time.perf_counter() - t0
            if ev["type"] == "response.output_item.done" and ev["item"]["type"] == "function_call":
                tool = time.perf_counter() - t0
    return first * 1000, tool * 1000


def stats(xs: list[float]) -> str:
    xs = sorted(xs)
    return f"median {statistics.median(xs):7.2f} ms  p90 {xs[int(len(xs) * 0.9) - 1]:7.2f} ms"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=60, help="turns per target")
    n = ap.parse_args().n
    pack = yaml.safe_load((ROOT / "policies" / "codex-cli.yaml").read_text())
    pack["policies"]["chain"] = [k for k in pack["policies"]["chain"] if k not in OURS]
    for k in OURS:
        pack["policy"].pop(k, None)
    with FakeOpenAI() as fake, tempfile.TemporaryDirectory() as tmp:
        turn = [Text("I'll run the test suite first to see what fails. " * 3), call("exec_command",
                {"cmd": "cd /home/dev/project && pytest -x -q tests/ 2>&1 | tail -40", "workdir": "/home/dev/project"})]
        fake.script = lambda received: turn
        without = Path(tmp) / "without.yaml"
        without.write_text(yaml.safe_dump(pack))
        gws = {"gateway, codex-cli pack": Gateway(Path(tmp) / "a", fake.url).start(),
               "gateway, pack without the 3 policies": Gateway(Path(tmp) / "b", fake.url, config=without).start()}
        try:
            targets = {"direct to upstream": fake.url + "/v1", **{k: g.base_url for k, g in gws.items()}}
            res = {k: ([], []) for k in targets}
            for name, base in targets.items():      # warm up connections and caches
                for _ in range(3):
                    one_turn(base)
            order = list(targets.items())
            for k in range(n):
                random.Random(k).shuffle(order)   # no target always goes first or last
                for name, base in order:
                    f, t = one_turn(base)
                    res[name][0].append(f)
                    res[name][1].append(t)
            # The policies' own time, as the chain measured it (per hook call) in the audit rows.
            time.sleep(1.0)
            rows = audit_rows(gws["gateway, codex-cli pack"].audit_db, with_body=False)
            spent: dict[tuple[str, str], list[float]] = {}
            for row in rows:
                for p in row.get("policies") or []:
                    if p.get("policy") in OURS and p.get("duration_ms") is not None:
                        spent.setdefault((p["policy"], p.get("phase", "?")), []).append(p["duration_ms"])
        finally:
            for g in gws.values():
                g.stop()
    for name, (f, t) in res.items():
        print(f"{name:38} first text delta {stats(f)} | released tool call {stats(t)}")
    a, b = res["gateway, codex-cli pack"], res["gateway, pack without the 3 policies"]
    print(f"added by agent-firewall + safety-filter + quality-scorer: first delta "
          f"{statistics.median(a[0]) - statistics.median(b[0]):+.2f} ms, tool call "
          f"{statistics.median(a[1]) - statistics.median(b[1]):+.2f} ms (medians, n={n})")
    for (policy, phase), ms in sorted(spent.items()):
        print(f"in-chain time of {policy:15} {phase:7} median {statistics.median(ms):.3f} ms  max {max(ms):.3f} ms "
              f"({len(ms)} calls)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
