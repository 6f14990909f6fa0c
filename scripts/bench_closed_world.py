"""Per-request cost of the closed-world and trust-boundary checks, in-process (no proxy, no network).

    .venv/bin/python scripts/bench_closed_world.py [--turns 40] [--reps 200]

- route: path canonicalisation + route table lookup
- listener: the Host/Origin check of proxy/listener.py on an ordinary request (mitmproxy test flow)
- admin: the admin-token comparison of a control endpoint
- typed vs all segments: wire.requests.extract (typed only) against extract_all (typed + the deep walk of
  every other string) on a Codex-shaped SSE request of turn N (the whole history, as Codex resends it)
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))


def per_call_us(fn, reps: int) -> float:
    samples = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        samples.append((time.perf_counter() - t) / reps * 1e6)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=40)
    ap.add_argument("--reps", type=int, default=200)
    args = ap.parse_args()
    from mitmproxy.test import tflow

    from keeptrusts import admin
    from keeptrusts.proxy.listener import ListenerGuard
    from keeptrusts.wire import requests as wire_requests
    from keeptrusts.wire.routes import route
    from keeptrusts.wire.sse import loads

    rt = SimpleNamespace(allowed_hosts=[], allowed_origins=[], intercepts=lambda h: h == "api.openai.com")
    gw = SimpleNamespace(runtime=rt)
    guard = ListenerGuard(gw)
    flow = tflow.tflow()
    flow.request.host, flow.request.port = "api.openai.com", 443
    flow.request.headers["host"] = "api.openai.com"

    def listener():
        flow.response = None
        guard.requestheaders(flow)

    rows = [("route(POST /v1/responses)", per_call_us(lambda: route("POST", "/v1/responses?x=1"), args.reps * 10)),
            ("listener Host/Origin check", per_call_us(listener, args.reps * 10)),
            ("admin token check", per_call_us(lambda: admin.check("kt_admin_" + "a" * 43, "kt_admin_" + "a" * 43),
                                               args.reps * 10))]
    try:
        from bench_session import session_requests  # the 40-turn Codex-shaped session of scripts/bench
        body = session_requests(args.turns)[-1]
    except Exception:  # noqa: BLE001 - a synthetic history of the same shape
        item = {"type": "function_call_output", "call_id": "call_x", "output": "line of tool output\n" * 60}
        call = {"type": "function_call", "name": "exec_command", "call_id": "call_x", "arguments": '{"cmd":"ls"}'}
        body = {"model": "gpt-5-codex", "instructions": "You are Codex." * 200, "stream": True,
                "input": [x for _ in range(args.turns * 3) for x in (dict(call), dict(item))]}
    raw = body if isinstance(body, (bytes, str)) else __import__("json").dumps(body)
    size = len(raw)
    rows.append((f"extract typed (turn {args.turns}, {size // 1024} KB)",
                 per_call_us(lambda: wire_requests.extract("responses", loads(raw)), max(3, args.reps // 20))))
    rows.append((f"extract_all typed+deep walk (turn {args.turns})",
                 per_call_us(lambda: wire_requests.extract_all("responses", loads(raw)), max(3, args.reps // 20))))
    for name, us in rows:
        print(f"{name:48s} {us:10.2f} µs")


if __name__ == "__main__":
    main()
