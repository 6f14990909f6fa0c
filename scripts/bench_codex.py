"""Real Codex CLI sessions, direct vs through the gateway, per transport: what the gateway costs.

    .venv/bin/python scripts/bench_codex.py [--runs 5]

Each run plays tests/e2e/scenario.py (read a file of secrets, patch it, run an allowed and a denied
command) against the fake upstream. Prints, per transport: median wall time of a `codex exec`
session direct and through the gateway, bytes Codex sent upstream per model request, and the
gateway's own time per exchange from its audit rows (policy_ms, and total_ms minus upstream_ms).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "e2e")]

import audit  # noqa: E402
import scenario  # noqa: E402
from codex import Codex, install_codex  # noqa: E402
from fake_openai import FakeOpenAI  # noqa: E402
from gateway import Gateway  # noqa: E402


def session(binary: Path, websocket: str, via_gateway: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-codex-") as tmp:
        tmp = Path(tmp)
        ws = scenario.make_workspace(tmp / "ws")
        with FakeOpenAI(script=scenario.model_script(), websocket=websocket) as fake:
            if via_gateway:
                with Gateway(tmp, fake.url) as gw:
                    run = Codex(binary, tmp / "home", ws, gw.base_url).run(scenario.PROMPT)
                rows = audit.model_turns(audit.events(gw.audit_db))
            else:
                run = Codex(binary, tmp / "home", ws, fake.base_url).run(scenario.PROMPT)
                rows = []
            sizes = [len(r.body) for r in fake.model_requests()]
        durations = [json.loads(r["durations"]) for r in rows if r.get("durations")]
        return {"seconds": run.seconds, "requests": len(sizes), "bytes_per_request": statistics.mean(sizes) if sizes else 0,
                "policy_ms": [d.get("policy_ms") or 0 for d in durations],
                "own_ms": [d["total_ms"] - (d.get("upstream_ms") or 0) for d in durations if d.get("total_ms") is not None]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    binary = install_codex()
    version = (ROOT / ".cache" / "codex" / ".version").read_text().strip()
    print(f"Codex CLI {version}: {a.runs} sessions per cell, scenario of {len(scenario.model_script())} model turns")
    print(f"{'transport':<10} {'direct s':>9} {'gateway s':>10} {'req/session':>11} {'KB/request':>10} "
          f"{'policy ms p50':>13} {'gateway ms p50':>14} {'gateway ms max':>14}")
    for name, mode in (("websocket", "accept"), ("sse", "refuse")):
        direct = [session(binary, mode, False) for _ in range(a.runs)]
        via = [session(binary, mode, True) for _ in range(a.runs)]
        pol = [x for s in via for x in s["policy_ms"]]
        own = [x for s in via for x in s["own_ms"]]
        print(f"{name:<10} {statistics.median(s['seconds'] for s in direct):>9.2f} "
              f"{statistics.median(s['seconds'] for s in via):>10.2f} {via[0]['requests']:>11} "
              f"{via[0]['bytes_per_request'] / 1024:>10.1f} {statistics.median(pol):>13.2f} "
              f"{statistics.median(own):>14.2f} {max(own):>14.2f}")


if __name__ == "__main__":
    main()
