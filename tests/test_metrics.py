"""GET /metrics content: Prometheus text format with the reference's keeptrusts_gateway_* names."""
from __future__ import annotations

import re
import threading

from keeptrusts.metrics import CONTENT_TYPE, GatewayMetrics

LINE = re.compile(r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? '
                  r'(?P<value>[-+]?(?:\d+(?:\.\d*)?(?:e[-+]?\d+)?|Inf|NaN))$')


def parse(text: str) -> dict[tuple, float]:
    """A strict reader of the exposition format: every line a comment or a valid sample."""
    samples = {}
    typed = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
            continue
        if line.startswith("# HELP "):
            continue
        m = LINE.match(line)
        assert m, f"invalid exposition line: {line!r}"
        base = re.sub(r"_(bucket|sum|count)$", "", m["name"])
        assert m["name"] in typed or base in typed, f"sample without # TYPE: {line}"
        labels = tuple(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m["labels"] or ""))
        samples[(m["name"], labels)] = float(m["value"].replace("Inf", "inf"))
    return samples


def record(**over):
    r = {"id": "x1", "provider": "openai", "model": "gpt-5-codex", "status": 200, "verdict": "redact",
         "durations": {"total_ms": 850.0, "policy_ms": 1.2, "upstream_ms": 840.0, "ttfb_ms": 300.0},
         "policies": [{"policy": "code-sanitation", "phase": "input", "verdict": "redact", "reason_code": "secret_detected",
                       "duration_ms": 0.8, "findings": [{"type": "github_token", "action": "redact"}]},
                      {"policy": "audit-logger", "phase": "input", "verdict": "allow", "duration_ms": 0.01}],
         "usage": {"input_tokens": 1200, "cached_input_tokens": 1000, "output_tokens": 40},
         "bytes_in": 70_000, "bytes_out": 3_000, "error": None}
    r.update(over)
    return r


def test_one_exchange_appears_under_the_reference_names():
    m = GatewayMetrics()
    m.observe_exchange(record())
    s = parse(m.render())
    assert s[("keeptrusts_gateway_requests_total", (("provider", "openai"), ("model", "gpt-5-codex"), ("status", "200")))] == 1
    assert s[("keeptrusts_gateway_request_duration_seconds_bucket", (("provider", "openai"), ("le", "1")))] == 1
    assert s[("keeptrusts_gateway_request_duration_seconds_bucket", (("provider", "openai"), ("le", "0.5")))] == 0
    assert s[("keeptrusts_gateway_request_duration_seconds_sum", (("provider", "openai"),))] == 0.85
    assert s[("keeptrusts_gateway_policy_evaluations_total",
              (("policy", "code-sanitation"), ("phase", "input"), ("verdict", "redact")))] == 1
    assert s[("keeptrusts_gateway_verdicts_total", (("verdict", "redact"),))] == 1
    assert s[("keeptrusts_gateway_findings_total", (("policy", "code-sanitation"), ("type", "github_token")))] == 1
    assert s[("keeptrusts_gateway_bytes_scanned_total", (("direction", "request"),))] == 70_000
    assert s[("keeptrusts_gateway_tokens_total", (("provider", "openai"), ("model", "gpt-5-codex"), ("type", "cached_input")))] == 1000
    assert CONTENT_TYPE.startswith("text/plain; version=0.0.4")


def test_histogram_buckets_are_cumulative_and_count_matches():
    m = GatewayMetrics()
    for ms in (3, 40, 40, 2000, 999_999):
        m.observe_exchange(record(durations={"total_ms": ms}))
    s = parse(m.render())
    key = lambda le: ("keeptrusts_gateway_request_duration_seconds_bucket", (("provider", "openai"), ("le", le)))
    assert [s[key(le)] for le in ("0.005", "0.05", "2.5", "300", "+Inf")] == [1, 3, 4, 4, 5]
    assert s[("keeptrusts_gateway_request_duration_seconds_count", (("provider", "openai"),))] == 5


def test_upstream_errors_and_policy_errors_are_counted_by_kind():
    m = GatewayMetrics()
    m.observe_exchange(record(status=502, error="upstream connect error: connection refused", verdict="allow"))
    m.observe_exchange(record(status=504, error="upstream read timed out"))
    m.observe_exchange(record(status=503, error=None))
    m.observe_exchange(record(policies=[{"policy": "pii-detector", "phase": "input", "verdict": "block",
                                         "error": "RuntimeError: boom"}]))
    m.upstream_error("openai", "tls")
    s = parse(m.render())
    err = lambda kind: s[("keeptrusts_gateway_upstream_errors_total", (("provider", "openai"), ("kind", kind)))]
    assert (err("connection"), err("timeout"), err("http_503"), err("tls")) == (1, 1, 1, 1)
    assert s[("keeptrusts_gateway_policy_errors_total", (("policy", "pii-detector"),))] == 1


class FakePolicy:
    def __init__(self, kind, hits, misses):
        self.kind, self.cache_hits, self.cache_misses = kind, hits, misses


class FakeChain:
    def __init__(self, *policies):
        self.policies = list(policies)


def test_cache_hit_ratio_survives_a_chain_reload_without_counters_going_down():
    m = GatewayMetrics()
    p = FakePolicy("code-sanitation", 30, 10)
    holder = {"chain": FakeChain(p, object())}
    m.watch_chain(lambda: holder["chain"])
    s = parse(m.render())
    assert s[("keeptrusts_gateway_scan_cache_hit_ratio", ())] == 0.75
    p.cache_hits = 90
    holder["chain"] = FakeChain(FakePolicy("code-sanitation", 0, 20))   # hot reload: fresh counters
    s = parse(m.render())
    hits = s[("keeptrusts_gateway_scan_cache_hits_total", (("policy", "code-sanitation"),))]
    misses = s[("keeptrusts_gateway_scan_cache_misses_total", (("policy", "code-sanitation"),))]
    assert (hits, misses) == (30, 30)   # the old chain's last 60 hits were never rendered; nothing decreased
    assert s[("keeptrusts_gateway_scan_cache_hit_ratio", ())] == 0.5


def test_label_values_are_escaped_and_series_are_bounded():
    m = GatewayMetrics()
    m.observe_exchange(record(model='evil"model\nname\\'))
    for i in range(700):
        m.observe_exchange(record(model=f"m{i}"))
    text = m.render()
    parse(text)   # still valid exposition format
    assert 'model="evil\\"model\\nname\\\\"' in text
    series = [line for line in text.splitlines() if line.startswith("keeptrusts_gateway_requests_total{")]
    assert len(series) <= 501 and any('model="other"' in line for line in series)


def test_config_info_in_flight_and_reloads():
    m = GatewayMetrics()
    m.set_config("codex-cli-gateway", "1.0.0")
    m.set_config("codex-cli-strict", "1.0.0")
    m.request_started(); m.request_started(); m.request_finished()
    m.config_reload(True); m.config_reload(False)
    s = parse(m.render())
    info = [k for k in s if k[0] == "keeptrusts_gateway_config_info"]
    assert info == [("keeptrusts_gateway_config_info", (("pack", "codex-cli-strict"), ("version", "1.0.0")))]
    assert s[("keeptrusts_gateway_requests_in_flight", ())] == 1
    assert s[("keeptrusts_gateway_config_reloads_total", (("result", "failed"),))] == 1


def test_concurrent_observers_lose_no_count():
    m = GatewayMetrics()

    def work():
        for _ in range(500):
            m.observe_exchange(record())
            m.render() if _ % 100 == 0 else None

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    s = parse(m.render())
    assert s[("keeptrusts_gateway_requests_total", (("provider", "openai"), ("model", "gpt-5-codex"), ("status", "200")))] == 4000
    assert s[("keeptrusts_gateway_request_duration_seconds_count", (("provider", "openai"),))] == 4000
