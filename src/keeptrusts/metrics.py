"""Prometheus metrics for `GET /metrics`, with the reference's `keeptrusts_gateway_*` names.

Plain Python (no prometheus_client, no mitmproxy): a small thread-safe registry of counters,
gauges and histograms, rendered in the Prometheus text exposition format 0.0.4.

The addon's side is three calls:

    metrics = GatewayMetrics()
    metrics.set_config(cfg.pack["name"], cfg.pack["version"])   # at load and after each reload
    metrics.watch_chain(lambda: current_chain)                  # scan-cache hit rate, read at render
    metrics.observe_exchange(record)                            # once per exchange: the audit record dict
    body = metrics.render()                                     # serve with CONTENT_TYPE

Optional: `request_started()` / `request_finished()` around a flow for the in-flight gauge,
`upstream_error(provider, kind)` for an upstream failure that produces no audit record,
`config_reload(ok)` after a hot reload.
"""
from __future__ import annotations

import math
import threading
import time
import weakref
from typing import Callable, Iterable

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PREFIX = "keeptrusts_gateway_"

# Model calls take seconds to minutes; policy evaluation takes microseconds to milliseconds.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
POLICY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1)

# A label set beyond this many per metric is folded into "other" (model names come from clients).
MAX_SERIES = 500


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _fmt(v: float) -> str:
    if v == math.inf:
        return "+Inf"
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))


def _labels(names: tuple[str, ...], values: tuple, extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


class _Family:
    type = ""

    def __init__(self, name: str, help: str, labels: tuple[str, ...] = ()):
        self.name, self.help, self.label_names = PREFIX + name, help, labels
        self.series: dict[tuple, object] = {}

    def _key(self, labels: dict) -> tuple:
        key = tuple(str(labels.get(n, "") or "") for n in self.label_names)
        if key not in self.series and len(self.series) >= MAX_SERIES:
            key = tuple("other" for _ in self.label_names)
        return key

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.type}"]


class Counter(_Family):
    type = "counter"

    def inc(self, amount: float = 1, **labels) -> None:
        key = self._key(labels)
        self.series[key] = self.series.get(key, 0) + amount

    def lines(self) -> list[str]:
        return [f"{self.name}{_labels(self.label_names, k)} {_fmt(v)}" for k, v in sorted(self.series.items())]


class Gauge(Counter):
    type = "gauge"

    def set(self, value: float, **labels) -> None:
        self.series[self._key(labels)] = value


class Histogram(_Family):
    type = "histogram"

    def __init__(self, name: str, help: str, labels: tuple[str, ...] = (), buckets: tuple = REQUEST_BUCKETS):
        super().__init__(name, help, labels)
        self.buckets = tuple(buckets) + (math.inf,)

    def observe(self, value: float, **labels) -> None:
        key = self._key(labels)
        counts, total = self.series.get(key, ([0] * len(self.buckets), 0.0))
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                counts[i] += 1
                break
        self.series[key] = (counts, total + value)

    def lines(self) -> list[str]:
        out = []
        for key, (counts, total) in sorted(self.series.items()):
            running = 0
            for bound, n in zip(self.buckets, counts):
                running += n
                le = 'le="' + _fmt(bound) + '"'
                out.append(f"{self.name}_bucket{_labels(self.label_names, key, le)} {running}")
            out.append(f"{self.name}_sum{_labels(self.label_names, key)} {_fmt(total)}")
            out.append(f"{self.name}_count{_labels(self.label_names, key)} {running}")
        return out


def _upstream_error_kind(error: str) -> str:
    e = error.lower()
    if "timeout" in e or "timed out" in e:
        return "timeout"
    if any(w in e for w in ("connect", "refused", "reset", "resolve", "unreachable", "dns")):
        return "connection"
    if "tls" in e or "ssl" in e or "certificate" in e:
        return "tls"
    return "other"


class GatewayMetrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started = time.time()
        self._chain_source: Callable[[], object] | None = None
        # policy -> (hits, misses) last read; weak, so a replaced chain's policies drop out.
        self._cache_seen: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        f = self._families = {}

        def add(fam: _Family) -> _Family:
            f[fam.name] = fam
            return fam

        self.requests = add(Counter("requests_total", "Exchanges handled, by provider, model and HTTP status.",
                                    ("provider", "model", "status")))
        self.duration = add(Histogram("request_duration_seconds", "Total time of an exchange, client to client.",
                                      ("provider",)))
        self.upstream_duration = add(Histogram("upstream_duration_seconds", "Time spent waiting on the provider.",
                                               ("provider",)))
        self.ttfb = add(Histogram("time_to_first_byte_seconds", "Time until the first response byte reached the client.",
                                  ("provider",)))
        self.policy_overhead = add(Histogram("policy_overhead_seconds",
                                             "Time the policy chain added to one exchange.", (), POLICY_BUCKETS))
        self.verdicts = add(Counter("verdicts_total", "Exchanges by final verdict.", ("verdict",)))
        self.policy_evals = add(Counter("policy_evaluations_total", "Policy decisions, by policy, phase and verdict.",
                                        ("policy", "phase", "verdict")))
        self.policy_duration = add(Histogram("policy_evaluation_duration_seconds", "Time one policy took on one hook.",
                                             ("policy",), POLICY_BUCKETS))
        self.policy_errors = add(Counter("policy_errors_total", "Policies that raised (fail mode decided).", ("policy",)))
        self.findings = add(Counter("findings_total", "Findings by policy and type (redacted secrets, PII, rules).",
                                    ("policy", "type")))
        self.bytes_scanned = add(Counter("bytes_scanned_total", "Body bytes that went through the chain.", ("direction",)))
        self.tokens = add(Counter("tokens_total", "Tokens reported by the provider.", ("provider", "model", "type")))
        self.upstream_errors = add(Counter("upstream_errors_total", "Provider failures, by kind.", ("provider", "kind")))
        self.cache_hits = add(Counter("scan_cache_hits_total", "Segment scans answered from the content-hash cache.",
                                      ("policy",)))
        self.cache_misses = add(Counter("scan_cache_misses_total", "Segment scans that ran.", ("policy",)))
        self.cache_ratio = add(Gauge("scan_cache_hit_ratio", "Share of segment scans answered from cache (0-1).", ()))
        self.in_flight = add(Gauge("requests_in_flight", "Exchanges being handled now.", ()))
        self.reloads = add(Counter("config_reloads_total", "Hot reloads of the policy config, by result.", ("result",)))
        self.config_info = add(Gauge("config_info", "The loaded policy pack (value is always 1).", ("pack", "version")))
        self.uptime = add(Gauge("uptime_seconds", "Seconds since the gateway started.", ()))

    # -- what the addon calls ------------------------------------------------------------------

    def observe_exchange(self, record: dict) -> None:
        """Count one exchange from its audit record dict (see keeptrusts.logging_setup)."""
        provider = record.get("provider") or "unknown"
        model = record.get("model") or "unknown"
        status = record.get("status")
        durations = record.get("durations") or {}
        with self._lock:
            self.requests.inc(provider=provider, model=model, status=status if status is not None else "none")
            self.verdicts.inc(verdict=record.get("verdict") or "allow")
            if durations.get("total_ms") is not None:
                self.duration.observe(durations["total_ms"] / 1000, provider=provider)
            if durations.get("upstream_ms") is not None:
                self.upstream_duration.observe(durations["upstream_ms"] / 1000, provider=provider)
            if durations.get("ttfb_ms") is not None:
                self.ttfb.observe(durations["ttfb_ms"] / 1000, provider=provider)
            if durations.get("policy_ms") is not None:
                self.policy_overhead.observe(durations["policy_ms"] / 1000)
            for v in record.get("policies") or []:
                policy = v.get("policy", "unknown")
                self.policy_evals.inc(policy=policy, phase=v.get("phase", "input"), verdict=v.get("verdict", "allow"))
                if v.get("duration_ms") is not None:
                    self.policy_duration.observe(v["duration_ms"] / 1000, policy=policy)
                if v.get("error"):
                    self.policy_errors.inc(policy=policy)
                for f in v.get("findings") or []:
                    self.findings.inc(policy=policy, type=f.get("type", "unknown"))
            self.bytes_scanned.inc(record.get("bytes_in") or 0, direction="request")
            self.bytes_scanned.inc(record.get("bytes_out") or 0, direction="response")
            usage = record.get("usage") or {}
            if isinstance(usage, dict):
                for key, label in (("input_tokens", "input"), ("cached_input_tokens", "cached_input"),
                                   ("output_tokens", "output"), ("reasoning_tokens", "reasoning")):
                    if usage.get(key):
                        self.tokens.inc(usage[key], provider=provider, model=model, type=label)
            error = record.get("error")
            if error:
                self.upstream_errors.inc(provider=provider, kind=_upstream_error_kind(str(error)))
            elif isinstance(status, int) and status in (502, 503, 504):
                self.upstream_errors.inc(provider=provider, kind=f"http_{status}")

    def upstream_error(self, provider: str, kind: str) -> None:
        """An upstream failure with no audit record (e.g. a connection that never became an exchange)."""
        with self._lock:
            self.upstream_errors.inc(provider=provider or "unknown", kind=kind)

    def request_started(self) -> None:
        with self._lock:
            self.in_flight.inc()

    def request_finished(self) -> None:
        with self._lock:
            self.in_flight.inc(-1)

    def set_config(self, pack: str, version: str) -> None:
        with self._lock:
            self.config_info.series.clear()
            self.config_info.set(1, pack=pack, version=version)

    def config_reload(self, ok: bool) -> None:
        with self._lock:
            self.reloads.inc(result="ok" if ok else "failed")

    def watch_chain(self, source: Callable[[], object]) -> None:
        """`source()` returns the chain in use; its policies' cache counters are read at render."""
        self._chain_source = source

    # -- rendering -----------------------------------------------------------------------------

    def _read_caches(self) -> None:
        chain = self._chain_source() if self._chain_source else None
        for policy in getattr(chain, "policies", None) or []:
            if not hasattr(policy, "cache_hits"):
                continue
            hits, misses = policy.cache_hits, policy.cache_misses
            last_h, last_m = self._cache_seen.get(policy, (0, 0))
            # A reloaded chain has new policy objects starting at 0: add deltas so counters never go down.
            self.cache_hits.inc(max(hits - last_h, 0), policy=policy.kind)
            self.cache_misses.inc(max(misses - last_m, 0), policy=policy.kind)
            self._cache_seen[policy] = (hits, misses)
        h, m = sum(self.cache_hits.series.values()), sum(self.cache_misses.series.values())
        self.cache_ratio.set(h / (h + m) if h + m else 0.0)

    def render(self) -> str:
        with self._lock:
            self._read_caches()
            self.uptime.set(round(time.time() - self._started, 3))
            out: list[str] = []
            for fam in self._families.values():
                out += fam.header() + fam.lines()
            return "\n".join(out) + "\n"

    def families(self) -> Iterable[str]:
        return list(self._families)
