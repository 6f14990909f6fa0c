#!/usr/bin/env python3
"""Audit store numbers: write throughput, hot-path cost per exchange, storage, verify speed.

    .venv/bin/python scripts/bench_audit.py [--sessions 20] [--turns 40] [--threads 8]

Workload: Codex-like /v1/responses sessions (big instructions + tools, the whole history resent
every turn, ~2 KB tool outputs), submitted by several threads like concurrent flows in the addon.
Reports, for synchronous=FULL (the default: fsync per group commit) and NORMAL:
- throughput: rows committed per second with all threads submitting as fast as they can;
- hot path: the time `submit()` takes on the caller's thread, and the submit->commit latency the
  addon awaits before releasing a response, under that load and for a lone exchange;
- storage: database bytes per exchange against the raw request bytes;
- `kt audit verify` speed.
The writer runs as the gateway does: chain keyed with a generated audit key, signed head after each
commit. `--chain` prints only the cost of integrity: the row hash (SHA-256 vs HMAC) per row and the
head signature and file checks per commit (best of interleaved rounds: the machine may be shared).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from keeptrusts.audit import AuditWriter  # noqa: E402
from keeptrusts.audit.verify import verify  # noqa: E402

INSTRUCTIONS = "You are Codex, a coding agent running in a terminal. " * 250        # ~13 KB
TOOLS = [{"type": "function", "name": f"tool_{i}", "description": "does things " * 30,
          "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}} for i in range(8)]


def body(session: int, turn: int) -> str:
    items = []
    for t in range(turn):
        items.append({"type": "message", "role": "user", "content": [{"type": "input_text", "text": f"s{session} step {t}: fix the failing test"}]})
        items.append({"type": "function_call", "name": "exec_command", "call_id": f"c{session}_{t}",
                      "arguments": json.dumps({"cmd": f"pytest -x tests/test_{t}.py"})})
        items.append({"type": "function_call_output", "call_id": f"c{session}_{t}",
                      "output": (f"s{session} t{t} " + "line of test output\n" * 100)})
    return json.dumps({"model": "gpt-5-codex", "instructions": INSTRUCTIONS, "tools": TOOLS, "input": items,
                       "stream": True, "store": False})


def record(session: int, turn: int, rbody: str) -> dict:
    return {"id": f"evt_{session:08x}{turn:016x}", "event_type": "decision", "mode": "reverse", "transport": "sse",
            "developer": f"dev{session % 5}", "developer_source": "token", "model": "gpt-5-codex", "provider": "openai",
            "method": "POST", "path": "/v1/responses", "api": "responses", "status": 200, "verdict": "allow",
            "reason_code": "all_policies_passed",
            "policies": [{"policy": "pii-detector", "verdict": "allow", "duration_ms": 0.4}],
            "request_body": rbody, "output": {"text": "ok", "tool_calls": [], "finish_reason": "stop"},
            "usage": {"input_tokens": len(rbody) // 4, "cached_input_tokens": len(rbody) // 5,
                      "output_tokens": 300, "reasoning_tokens": 100},
            "durations": {"total_ms": 900.0}}


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def run(sync: str, sessions: int, turns: int, threads: int, tiny: bool = False) -> dict:
    if tiny:   # the store alone: small chat bodies, no history to split
        work = [(s, t, json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": f"hi {s} {t}"}]}))
                for t in range(1, turns + 1) for s in range(sessions)]
    else:
        work = [(s, t, body(s, t)) for t in range(1, turns + 1) for s in range(sessions)]
    raw_bytes = sum(len(b) for _, _, b in work)
    d = tempfile.mkdtemp(prefix="bench-audit-")
    db = Path(d) / "audit.db"
    os.environ["KEEPTRUSTS_HOME"] = d           # the audit key is generated here, as at a gateway's first start
    w = AuditWriter(db, synchronous=sync, outbox=None).start()
    submit_us, latency_ms = [], []
    lock = threading.Lock()
    chunks = [work[i::threads] for i in range(threads)]

    def client(chunk):
        local_s, local_l = [], []
        for s, t, b in chunk:
            rec = record(s, t, b)
            t0 = time.perf_counter()
            fut = w.submit(rec)
            t1 = time.perf_counter()
            fut.result(30)
            t2 = time.perf_counter()
            local_s.append((t1 - t0) * 1e6)
            local_l.append((t2 - t0) * 1e3)
        with lock:
            submit_us.extend(local_s)
            latency_ms.extend(local_l)

    t0 = time.perf_counter()
    ts = [threading.Thread(target=client, args=(c,)) for c in chunks]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    elapsed = time.perf_counter() - t0
    # a lone exchange (no batching to hide behind)
    lone = []
    for i in range(50):
        b = body(10_000 + i, 3)
        t1 = time.perf_counter()
        w.submit(record(10_000 + i, 3, b)).result(10)
        lone.append((time.perf_counter() - t1) * 1e3)
    w.close()
    size = sum(os.path.getsize(p) for p in Path(d).iterdir())
    t1 = time.perf_counter()
    res = verify(db)
    verify_s = time.perf_counter() - t1
    assert res.ok, res.render()
    return {
        "workload": "tiny chat bodies" if tiny else "codex sessions", "synchronous": sync, "rows": len(work), "threads": threads, "elapsed_s": round(elapsed, 2),
        "rows_per_s": round(len(work) / elapsed),
        "submit_us_p50": round(pct(submit_us, 50), 1), "submit_us_p99": round(pct(submit_us, 99), 1),
        "commit_latency_ms_p50_loaded": round(pct(latency_ms, 50), 2),
        "commit_latency_ms_p99_loaded": round(pct(latency_ms, 99), 2),
        "commit_latency_ms_p50_lone": round(pct(lone, 50), 2), "commit_latency_ms_p99_lone": round(pct(lone, 99), 2),
        "raw_request_mb": round(raw_bytes / 1e6, 1), "db_mb": round(size / 1e6, 2),
        "db_bytes_per_exchange": round(size / (len(work) + 50)), "raw_bytes_per_exchange": round(raw_bytes / len(work)),
        "verify_rows_per_s": round(res.rows / verify_s),
    }


def chain_costs(rounds: int = 25, n: int = 500) -> dict:
    """Microseconds: row hash per row (unkeyed vs keyed) and the per-commit integrity work."""
    import hashlib
    import hmac

    from keeptrusts.audit import head as head_mod
    from keeptrusts.audit import rows as rows_mod, store
    from keeptrusts.audit.chain import canonical, row_hash

    d = Path(tempfile.mkdtemp(prefix="bench-chain-"))
    os.environ["KEEPTRUSTS_HOME"] = str(d)
    row, _ = rows_mod.build(record(1, 1, body(1, 1)))
    row.update(seq=1, prev_hash="0" * 64)
    content = store.hash_content(row)
    head = head_mod.HeadFile(d / "h.db-head", b"k" * 64, "0" * 32, "hmac-sha256")
    w = AuditWriter(d / "a.db", outbox=None).start()
    w.submit(record(1, 1, body(1, 1))).result(10)
    cases = {
        "row_hash_unkeyed_us": lambda: hashlib.sha256(b"0" * 64 + b"\n" + canonical(content)).hexdigest(),
        "row_hash_keyed_us": lambda: row_hash("0" * 64, content, b"k" * 32),
        "hmac_only_us": lambda: hmac.new(b"k" * 32, b"0" * 64, hashlib.sha256).hexdigest(),
        "head_sign_and_write_us_per_commit": lambda: head.write(123456, "a" * 64),
        "file_checks_us_per_commit": w._check_files,
    }
    best = {k: float("inf") for k in cases}
    for _ in range(rounds):
        for k, fn in cases.items():
            t = time.perf_counter()
            for _ in range(n):
                fn()
            best[k] = min(best[k], (time.perf_counter() - t) / n * 1e6)
    w.close()
    head.close()
    return {k: round(v, 2) for k, v in best.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--turns", type=int, default=40)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--chain", action="store_true", help="only the integrity costs (keyed chain, signed head)")
    args = ap.parse_args()
    if args.chain:
        c = chain_costs()
        if args.json:
            print(json.dumps(c, indent=2))
            return
        print(f"row hash per row: sha256 {c['row_hash_unkeyed_us']} us, HMAC-SHA256 {c['row_hash_keyed_us']} us "
              f"(canonical JSON dominates; the HMAC itself {c['hmac_only_us']} us)")
        print(f"per commit (a batch of rows): head signature + pwrite {c['head_sign_and_write_us_per_commit']} us, "
              f"db/head file checks {c['file_checks_us_per_commit']} us")
        return
    results = [run(s, args.sessions, args.turns, args.threads) for s in ("FULL", "NORMAL")]
    results.append(run("FULL", args.sessions * 5, args.turns, args.threads, tiny=True))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for r in results:
        print(f"[{r['workload']}] synchronous={r['synchronous']}: {r['rows']} exchanges from {r['threads']} threads in {r['elapsed_s']}s "
              f"-> {r['rows_per_s']} rows/s")
        print(f"  hot path: submit() p50 {r['submit_us_p50']} us, p99 {r['submit_us_p99']} us on the caller's thread")
        print(f"  submit->commit (what the addon awaits): loaded p50 {r['commit_latency_ms_p50_loaded']} ms "
              f"p99 {r['commit_latency_ms_p99_loaded']} ms; lone p50 {r['commit_latency_ms_p50_lone']} ms "
              f"p99 {r['commit_latency_ms_p99_lone']} ms")
        print(f"  storage: {r['raw_request_mb']} MB of request bodies -> {r['db_mb']} MB on disk "
              f"({r['db_bytes_per_exchange']} B/exchange vs {r['raw_bytes_per_exchange']} B raw)")
        print(f"  verify: {r['verify_rows_per_s']} rows/s")


if __name__ == "__main__":
    main()
