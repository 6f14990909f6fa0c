"""Gateway benchmarks against bare mitmdump on the same local fake upstream, in the same run.

    scripts/bench latency      40-turn Codex session, SSE full history + WebSocket incremental
    scripts/bench throughput   10 and 50 concurrent sessions; CPU per MB scanned
    scripts/bench memory       RSS every 100 exchanges up to 1,000 (bounded caches: flat after warm-up)
    scripts/bench plot         docs/bench-latency.svg from the last latency run
    scripts/bench all          all of the above (default)

Results go to .cache/bench/<name>.json; the summary table is printed. Everything runs on loopback
and stops by itself (bounded turns, per-request timeouts).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_client import SSEClient, WSClient  # noqa: E402
from bench_procs import ROOT, Stack  # noqa: E402
from bench_session import Session  # noqa: E402

OUT = ROOT / ".cache" / "bench"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    k = (len(v) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def ms(x: float | None) -> float | None:
    return None if x is None else round(x * 1000, 3)


def save(name: str, data: dict) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(data, indent=1))


# ---------------------------------------------------------------------------------------- latency
def latency(reps: int, turns: int) -> dict:
    """Per turn, the same request goes to bare mitmdump and to the gateway (order alternating)."""
    rows = []  # one per (rep, transport, turn)
    with Stack() as st:
        targets = {"direct": st.fake.port, "mitmdump": st.bare.port, "gateway": st.gateway.port}
        warm = Session("warmup", turns=3, offset=300)  # imports, connection setup, first-use caches
        for port in targets.values():
            c = SSEClient(port)
            for n in range(3):
                c.turn(warm.sse_body(n))
            c.close()
        for rep in range(reps):
            # A new session (salted text) per repetition: the gateway has not seen it before.
            sess = Session(f"r{rep}", turns=turns, offset=rep * 7)
            clients = {k: SSEClient(p) for k, p in targets.items()}
            for n in range(turns):
                body = sess.sse_body(n)
                order = list(targets) if (n + rep) % 2 == 0 else list(reversed(targets))
                for k in order:
                    r = clients[k].turn(body)
                    rows.append({"rep": rep, "transport": "sse", "turn": n + 1, "target": k, "bytes": len(body),
                                 "ok": r.ok, "total_ms": ms(r.total), "first_delta_ms": ms(r.first_delta), "error": r.error})
            for c in clients.values():
                c.close()
            # The same session over the WebSocket: incremental turns chained by previous_response_id.
            ws = {k: WSClient(p) for k, p in targets.items()}
            prev: dict[str, str | None] = {k: None for k in targets}
            for n in range(turns):
                order = list(targets) if (n + rep) % 2 == 0 else list(reversed(targets))
                for k in order:
                    msg = sess.ws_message(n, prev[k])
                    r = ws[k].turn(msg)
                    prev[k] = r.response_id
                    rows.append({"rep": rep, "transport": "websocket", "turn": n + 1, "target": k, "bytes": len(msg),
                                 "ok": r.ok, "total_ms": ms(r.total), "first_delta_ms": ms(r.first_delta), "error": r.error})
            for c in ws.values():
                c.close()
        rss = st.gateway.memory_kb()
    data = {"reps": reps, "turns": turns, "rows": rows, "summary": summarize_latency(rows), "gateway_rss_kb": rss}
    save("latency", data)
    return data


def summarize_latency(rows: list[dict]) -> dict:
    out = {}
    for transport in ("sse", "websocket"):
        sel = [r for r in rows if r["transport"] == transport]
        by = {}
        for r in sel:
            by.setdefault(r["target"], {})[(r["rep"], r["turn"])] = r
        s = {"failures": {k: sum(1 for r in v.values() if not r["ok"]) for k, v in by.items()}}
        for k, v in by.items():
            tot = [r["total_ms"] for r in v.values() if r["ok"]]
            fd = [r["first_delta_ms"] for r in v.values() if r["ok"] and r["first_delta_ms"] is not None]
            s[k] = {"median_ms": round(statistics.median(tot), 2), "p95_ms": round(pct(tot, 0.95), 2),
                    "first_delta_median_ms": round(statistics.median(fd), 2) if fd else None,
                    "first_delta_p95_ms": round(pct(fd, 0.95), 2) if fd else None}
        # Added latency: the gateway minus bare mitmdump on the very same request.
        g, m = by.get("gateway", {}), by.get("mitmdump", {})
        diff = [g[k]["total_ms"] - m[k]["total_ms"] for k in g if k in m and g[k]["ok"] and m[k]["ok"]]
        fdd = [g[k]["first_delta_ms"] - m[k]["first_delta_ms"] for k in g if k in m and g[k]["ok"] and m[k]["ok"]
               and g[k]["first_delta_ms"] is not None and m[k]["first_delta_ms"] is not None]
        s["added"] = {"median_ms": round(statistics.median(diff), 2), "p95_ms": round(pct(diff, 0.95), 2),
                      "first_delta_median_ms": round(statistics.median(fdd), 2) if fdd else None,
                      "first_delta_p95_ms": round(pct(fdd, 0.95), 2) if fdd else None}
        s["bytes_first"] = min(r["bytes"] for r in sel)
        s["bytes_last"] = max(r["bytes"] for r in sel)
        out[transport] = s
    return out


# ---------------------------------------------------------------------------------------- throughput
def _run_sessions(port: int, sessions: int, turns: int, salt: str) -> dict:
    results: list = []
    lock = threading.Lock()
    sent = [0]

    def one(i: int) -> None:
        sess = Session(f"{salt}{i}", turns=turns, offset=i * 3)
        c = SSEClient(port, timeout=120)
        for n in range(turns):
            body = sess.sse_body(n)
            r = c.turn(body)
            with lock:
                results.append(r)
                sent[0] += len(body)
        c.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    wall = time.perf_counter() - t0
    ok = [r for r in results if r.ok]
    lat = [r.total * 1000 for r in ok]
    return {"sessions": sessions, "exchanges": len(results), "failed": len(results) - len(ok), "wall_s": round(wall, 2),
            "exchanges_per_s": round(len(ok) / wall, 1), "mb_per_s": round(sent[0] / 1e6 / wall, 2),
            "mb_sent": round(sent[0] / 1e6, 1), "median_ms": round(statistics.median(lat), 1) if lat else None,
            "p95_ms": round(pct(lat, 0.95), 1) if lat else None,
            "errors": sorted({(r.error or "")[:120] for r in results if not r.ok})[:5]}


def throughput(levels: list[int], turns: int) -> dict:
    out = {"turns_per_session": turns, "levels": []}
    with Stack() as st:
        for n in levels:
            for name, proc in (("mitmdump", st.bare), ("gateway", st.gateway)):
                cpu0 = proc.cpu_seconds()
                r = _run_sessions(proc.port, n, turns, f"t{n}{name[0]}")
                r["cpu_s"] = round(proc.cpu_seconds() - cpu0, 2)
                r["cpu_ms_per_mb"] = round(r["cpu_s"] * 1000 / r["mb_sent"], 1) if r["mb_sent"] else None
                r["target"] = name
                out["levels"].append(r)
    save("throughput", out)
    return out


# ---------------------------------------------------------------------------------------- memory
def memory(exchanges: int, step: int) -> dict:
    """Distinct sessions (new text every exchange), 4 at a time; RSS sampled every `step` exchanges."""
    samples = []
    with Stack(bare=False) as st:
        gw = st.gateway
        samples.append({"exchanges": 0, "rss_kb": gw.memory_kb()[0]})
        done = 0
        failed = 0
        k = 0
        while done < exchanges:
            batch = min(step, exchanges - done)
            per = max(1, batch // 4)
            lock = threading.Lock()
            counts = [0, 0]

            def one(i: int, salt: str) -> None:
                sess = Session(salt, turns=6, offset=i)
                c = SSEClient(gw.port)
                for n in range(per):
                    r = c.turn(sess.sse_body(n % 6))
                    with lock:
                        counts[0] += 1
                        counts[1] += 0 if r.ok else 1
                c.close()

            threads = [threading.Thread(target=one, args=(i, f"m{k}_{i}"), daemon=True) for i in range(4)]
            k += 1
            for t in threads:
                t.start()
            for t in threads:
                t.join(300)
            done += counts[0]
            failed += counts[1]
            rss, hwm = gw.memory_kb()
            samples.append({"exchanges": done, "rss_kb": rss, "peak_kb": hwm})
    after_warmup = [s["rss_kb"] for s in samples if s["exchanges"] >= exchanges * 0.3]
    out = {"exchanges": done, "failed": failed, "samples": samples, "peak_rss_mb": round(samples[-1]["peak_kb"] / 1024, 1),
           "growth_after_warmup_mb": round((after_warmup[-1] - after_warmup[0]) / 1024, 1) if after_warmup else None}
    save("memory", out)
    return out


# ---------------------------------------------------------------------------------------- report
def print_latency(d: dict) -> None:
    s = d["summary"]
    print(f"\nLatency: {d['reps']} x {d['turns']}-turn Codex session, full default chain vs bare mitmdump (same run)")
    print(f"{'transport':<10} {'request':>16} {'target':<9} {'median':>8} {'p95':>8} {'1st delta':>10} {'1st d p95':>10} {'fail':>5}")
    for t in ("sse", "websocket"):
        x = s[t]
        size = f"{x['bytes_first'] / 1024:.0f}-{x['bytes_last'] / 1024:.0f} KB"
        for k in ("direct", "mitmdump", "gateway"):
            y = x[k]
            print(f"{t:<10} {size:>16} {k:<9} {y['median_ms']:>6.2f}ms {y['p95_ms']:>6.2f}ms "
                  f"{_f(y['first_delta_median_ms']):>10} {_f(y['first_delta_p95_ms']):>10} {x['failures'][k]:>5}")
        a = x["added"]
        verdict = "PASS" if a["median_ms"] <= 5 and a["p95_ms"] <= 15 else "MISS"
        print(f"{t:<10} {'added (gw-mitm)':>16} {'':<9} {a['median_ms']:>+6.2f}ms {a['p95_ms']:>+6.2f}ms "
              f"{_f(a['first_delta_median_ms'], '+'):>10} {_f(a['first_delta_p95_ms'], '+'):>10}   target +5/+15 ms: {verdict}")


def _f(v, sign: str = "") -> str:
    return "-" if v is None else f"{v:{sign}.2f}ms"


def print_throughput(d: dict) -> None:
    print(f"\nThroughput: concurrent SSE sessions, {d['turns_per_session']} turns each (full history)")
    print(f"{'sessions':>8} {'target':<9} {'exch/s':>7} {'MB/s':>6} {'median':>8} {'p95':>8} {'failed':>6} {'CPU ms/MB':>9}")
    for r in d["levels"]:
        print(f"{r['sessions']:>8} {r['target']:<9} {r['exchanges_per_s']:>7} {r['mb_per_s']:>6} {r['median_ms']:>6}ms "
              f"{r['p95_ms']:>6}ms {r['failed']:>6} {r['cpu_ms_per_mb']:>9}")
        for e in r["errors"]:
            print(f"{'':>17} error: {e}")


def print_memory(d: dict) -> None:
    print(f"\nMemory: gateway RSS over {d['exchanges']} exchanges ({d['failed']} failed)")
    print("  " + "  ".join(f"{s['exchanges']}:{s['rss_kb'] / 1024:.0f}MB" for s in d["samples"]))
    print(f"  peak RSS {d['peak_rss_mb']} MB; growth after warm-up (30%..100%): {d['growth_after_warmup_mb']:+} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", nargs="?", default="all", choices=["all", "latency", "throughput", "memory", "plot", "show"])
    ap.add_argument("--reps", type=int, default=3, help="latency: sessions per transport (default 3)")
    ap.add_argument("--turns", type=int, default=40, help="latency: turns per session (default 40)")
    ap.add_argument("--levels", default="10,50", help="throughput: concurrent sessions (default 10,50)")
    ap.add_argument("--session-turns", type=int, default=8, help="throughput: turns per session (default 8)")
    ap.add_argument("--exchanges", type=int, default=1000, help="memory: exchanges (default 1000)")
    a = ap.parse_args()
    if a.what in ("all", "latency"):
        print_latency(latency(a.reps, a.turns))
    if a.what in ("all", "latency", "plot"):
        from bench_plot import write_svg
        print("\nplot:", write_svg(json.loads((OUT / "latency.json").read_text())))
    if a.what in ("all", "throughput"):
        print_throughput(throughput([int(x) for x in a.levels.split(",")], a.session_turns))
    if a.what in ("all", "memory"):
        print_memory(memory(a.exchanges, 100))
    if a.what == "show":
        for name, fn in (("latency", print_latency), ("throughput", print_throughput), ("memory", print_memory)):
            if (OUT / f"{name}.json").exists():
                fn(json.loads((OUT / f"{name}.json").read_text()))


if __name__ == "__main__":
    main()
