"""OpenTelemetry export: what a collector receives (OTLP/HTTP JSON, GenAI attributes), that it is off
unless configured, and that a slow, failing or absent collector never holds up or breaks the gateway."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from keeptrusts.audit import AuditWriter
from keeptrusts.cli.main import cli
from keeptrusts.config import parse_config
from keeptrusts.otel import OtelConfig, OtelExporter

from audit_helpers import record


class Receiver:
    """A tiny OTLP/HTTP collector on 127.0.0.1: records every POST; answers from `answers` in turn
    (then 200); `hold` makes it wait before answering."""

    def __init__(self, answers=(), hold: threading.Event | None = None):
        self.posts: list[dict] = []
        self.answers = list(answers)
        self.hold = hold
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if outer.hold is not None:
                    outer.hold.wait(30)
                outer.posts.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": json.loads(body)})
                code = outer.answers.pop(0) if outer.answers else 200
                self.send_response(code)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def records(self) -> list[dict]:
        out = []
        for p in self.posts:
            for rl in p["body"].get("resourceLogs", []):
                for sl in rl["scopeLogs"]:
                    out += sl["logRecords"]
            for rs in p["body"].get("resourceSpans", []):
                for ss in rs["scopeSpans"]:
                    out += ss["spans"]
        return out

    def close(self):
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def attrs(item: dict) -> dict:
    out = {}
    for a in item["attributes"]:
        (kind, value), = a["value"].items()
        out[a["key"]] = [v["stringValue"] for v in value["values"]] if kind == "arrayValue" else value
    return out


BLOCKED = dict(verdict="block", reason_code="curl-pipe-shell", status=409, model="gpt-5-codex", developer="bob",
               policies=[{"policy": "pii-detector", "verdict": "allow", "phase": "input"},
                         {"policy": "agent-firewall", "verdict": "block", "reason_code": "curl-pipe-shell",
                          "phase": "tool", "findings": [{"type": "curl-pipe-shell", "action": "block",
                                                         "where": "output[1]", "rule": "curl-pipe-shell"}]},
                         {"policy": "agent-firewall", "verdict": "block", "phase": "tool"}])


def test_committed_rows_reach_the_collector_as_genai_log_records(tmp_path, receiver):
    cfg = OtelConfig.from_config({"audit": {"otel": {"endpoint": receiver.url,
                                                      "headers": {"x-team": "platform"}}}}, env={})
    exporter = OtelExporter(cfg).start()
    with AuditWriter(tmp_path / "audit.db", hmac_key=b"") as w:
        exporter.attach(w)
        w.submit(record(1)).result(5)
        w.submit(record(2, **BLOCKED)).result(5)
    assert exporter.flush(10)
    assert {p["path"] for p in receiver.posts} == {"/v1/logs"}
    assert all(p["headers"]["x-team"] == "platform" and p["headers"]["content-type"] == "application/json"
               for p in receiver.posts)
    resource = attrs(receiver.posts[0]["body"]["resourceLogs"][0]["resource"])
    assert resource["service.name"] == "keeptrusts-gateway"
    first, second = receiver.records()
    a = attrs(first)
    assert a["gen_ai.system"] == "openai" and a["gen_ai.provider.name"] == "openai"
    assert a["gen_ai.operation.name"] == "chat" and a["gen_ai.request.model"] == "gpt-4o"
    assert a["gen_ai.usage.input_tokens"] == "1000" and a["gen_ai.usage.output_tokens"] == "50"   # int64 as string
    assert a["keeptrusts.usage.cached_input_tokens"] == "200"
    assert a["keeptrusts.verdict"] == "redact" and a["keeptrusts.reason_code"] == "pii_detected"
    assert a["keeptrusts.policy"] == "pii-detector" and a["keeptrusts.policies"] == ["pii-detector"]
    assert a["keeptrusts.redactions"] == "1"
    assert a["user.id"] == "alice" and a["keeptrusts.developer"] == "alice"
    assert a["keeptrusts.event_id"] == record(1)["id"] and a["gen_ai.conversation.id"] == "sess_1"
    assert a["keeptrusts.cost_usd"] == pytest.approx(0.00275) and a["http.response.status_code"] == "200"
    assert first["severityText"] == "INFO2" and first["timeUnixNano"] == "1795611601000000000"
    assert f"kt events show {record(1)['id']}" in first["body"]["stringValue"]
    b = attrs(second)
    assert b["keeptrusts.verdict"] == "block" and b["keeptrusts.policy"] == "agent-firewall"
    assert b["keeptrusts.policies"] == ["agent-firewall"] and b["error.type"] == "409"
    assert second["severityNumber"] == 17 and "block curl-pipe-shell by agent-firewall" in second["body"]["stringValue"]
    # prompts, history and outputs stay in the audit database
    sent = json.dumps(receiver.posts)
    assert "step 0" not in sent and "file listing" not in sent and "<PII:EMAIL_ADDRESS" not in sent
    assert exporter.stats()["sent"] == 2 and exporter.dropped == exporter.failed == 0
    exporter.close()


def test_traces_signal_sends_one_client_span_per_exchange(receiver):
    exporter = OtelExporter(OtelConfig(endpoint=receiver.url + "/v1/traces", signal="traces")).start()
    exporter.submit(record(1))                      # the addon's record: usage dict, no cost yet
    exporter.submit(record(2, **BLOCKED))
    assert exporter.flush(10)
    ok, blocked = receiver.records()
    assert receiver.posts[0]["path"] == "/v1/traces"
    assert ok["name"] == "chat gpt-4o" and ok["kind"] == 3 and ok["status"] == {"code": 1}
    assert len(ok["traceId"]) == 32 and len(ok["spanId"]) == 16 and ok["traceId"] != blocked["traceId"]
    assert int(ok["endTimeUnixNano"]) - int(ok["startTimeUnixNano"]) == 812_000_000     # durations.total_ms
    assert attrs(ok)["gen_ai.usage.input_tokens"] == "1000" and attrs(ok)["keeptrusts.latency_ms"] == 812.0
    assert blocked["status"]["code"] == 2 and record(2)["id"] in blocked["status"]["message"]
    exporter.close()


def test_off_unless_configured_and_the_standard_variables():
    assert OtelConfig.from_config(None, env={}) is None
    assert OtelConfig.from_config({"audit": {}}, env={}) is None
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/", "OTEL_EXPORTER_OTLP_HEADERS": "api-key=a%20b,x=1",
           "OTEL_SERVICE_NAME": "kt-prod"}
    cfg = OtelConfig.from_config(None, env=env)
    assert (cfg.endpoint, cfg.signal, cfg.headers, cfg.service_name) == (
        "http://collector:4318/v1/logs", "logs", {"api-key": "a b", "x": "1"}, "kt-prod")
    assert OtelConfig.from_config({"audit": {"otel": {"signal": "traces"}}}, env={
        **env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t:4318/custom"}).endpoint == "http://t:4318/custom"
    assert OtelConfig.from_config(None, env={**env, "OTEL_SDK_DISABLED": "true"}) is None
    assert OtelConfig.from_config({"audit": {"otel": {"enabled": False}}}, env=env) is None
    cfg = OtelConfig.from_config(parse_config("""
pack: {name: t, version: 0.1.0, enabled: true}
policies: {chain: [audit-logger]}
audit:
  otel: {endpoint: "https://otel.example.com/otlp/v1/logs", headers: {authorization: "Bearer ${OTEL_TOKEN}"}}
"""), env={"OTEL_TOKEN": "s3cret"})
    assert cfg.endpoint == "https://otel.example.com/otlp/v1/logs"           # a URL with a path is used as is
    assert cfg.headers == {"authorization": "Bearer s3cret"}
    with pytest.raises(ValueError, match="not an http"):
        OtelConfig.from_config({"audit": {"otel": {"endpoint": "collector:4318"}}}, env={})


def test_a_full_queue_drops_and_counts_instead_of_waiting():
    exporter = OtelExporter(OtelConfig(endpoint="http://127.0.0.1:9/v1/logs", queue_size=5))   # not started
    results = [exporter.submit(record(i)) for i in range(8)]
    assert results == [True] * 5 + [False] * 3 and exporter.dropped == 3


def test_a_hanging_collector_never_holds_up_submit():
    hold = threading.Event()
    slow = Receiver(hold=hold)
    try:
        exporter = OtelExporter(OtelConfig(endpoint=slow.url + "/v1/logs", queue_size=10, batch_size=2,
                                           interval_s=0.01, timeout_s=30)).start()
        results = [exporter.submit(record(i)) for i in range(200)]    # would hang here if submit waited
        assert results.count(False) == exporter.dropped >= 200 - 10 - 2
        hold.set()
        assert exporter.flush(20)
        assert exporter.sent == results.count(True) and exporter.failed == 0
        assert {attrs(r)["keeptrusts.event_id"] for r in slow.records()} == \
            {record(i)["id"] for i, ok in enumerate(results) if ok}
        exporter.close()
    finally:
        slow.close()


def test_retries_briefly_on_503_and_gives_up_on_400():
    flaky = Receiver(answers=[503, 200, 400])
    try:
        exporter = OtelExporter(OtelConfig(endpoint=flaky.url + "/v1/logs", backoff_s=0.01)).start()
        exporter.submit(record(1))
        assert exporter.flush(10)
        assert len(flaky.posts) == 2 and flaky.posts[0]["body"] == flaky.posts[1]["body"]
        assert exporter.sent == 1 and exporter.failed == 0
        exporter.submit(record(2))              # 400: the collector refuses the data; resending will not help
        assert exporter.flush(10)
        assert len(flaky.posts) == 3 and exporter.failed == 1 and "HTTP 400" in exporter.last_error
        exporter.close()
    finally:
        flaky.close()


def test_an_absent_collector_is_counted_not_raised(caplog):
    dead = Receiver()
    url = dead.url
    dead.close()                                # nothing listens on that port now
    exporter = OtelExporter(OtelConfig(endpoint=url + "/v1/logs", backoff_s=0.01, retries=1)).start()
    assert exporter.submit(record(1)) is True
    assert exporter.flush(10)
    assert exporter.failed == 1 and exporter.sent == 0 and url in exporter.last_error
    assert any("OTLP export" in r.getMessage() for r in caplog.records)
    exporter.close()


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "audit.db"
    with AuditWriter(path, hmac_key=b"") as w:
        for i in range(1, 251):                 # more than one batch
            w.submit(record(i, **(BLOCKED if i % 50 == 0 else {}))).result(5)
    return path


def test_kt_events_export_otlp_sends_the_stored_rows(db, receiver):
    r = CliRunner().invoke(cli, ["events", "export", "--db", str(db), "--format", "otlp", "--endpoint", receiver.url,
                                 "--signal", "traces", "--header", "authorization=Bearer t0k", "--verdict", "block"],
                           env={"KEEPTRUSTS_AUDIT_HMAC_KEY": ""})
    assert r.exit_code == 0, r.output
    assert f"Exported 5 events to {receiver.url}/v1/traces as OTLP traces" in r.output
    spans = receiver.records()
    assert [attrs(s)["keeptrusts.event_id"] for s in spans] == [record(i)["id"] for i in (50, 100, 150, 200, 250)]
    assert all(attrs(s)["keeptrusts.policy"] == "agent-firewall" for s in spans)
    assert receiver.posts[0]["headers"]["authorization"] == "Bearer t0k"
    r = CliRunner().invoke(cli, ["events", "export", "--db", str(db), "--format", "otlp", "--endpoint", receiver.url],
                           env={"KEEPTRUSTS_AUDIT_HMAC_KEY": ""})
    assert r.exit_code == 0 and "Exported 250 events" in r.output
    assert len(receiver.records()) == 255 and len(receiver.posts) == 1 + 2       # 200 per batch


def test_kt_events_export_otlp_errors_are_one_line(db):
    r = CliRunner().invoke(cli, ["events", "export", "--db", str(db), "--format", "otlp"],
                           env={"OTEL_EXPORTER_OTLP_ENDPOINT": None})
    assert r.exit_code == 1 and "--endpoint" in r.output and "OTEL_EXPORTER_OTLP_ENDPOINT" in r.output
    dead = Receiver()
    url = dead.url
    dead.close()
    r = CliRunner().invoke(cli, ["events", "export", "--db", str(db), "--format", "otlp", "--endpoint", url])
    assert r.exit_code == 1 and f"OTLP export to {url}/v1/logs failed" in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1
