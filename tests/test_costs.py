"""Cost attribution: usage as each transport reports it -> the audit row's cost; `kt costs`; `kt report`."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from click.testing import CliRunner

from keeptrusts import pricing
from keeptrusts.audit import AuditWriter
from keeptrusts.audit.queries import EventStore
from keeptrusts.cli.main import cli
from keeptrusts.config import parse_config
from keeptrusts.wire.chat_stream import usage_from_chat
from keeptrusts.wire.responses_stream import usage_from_responses

from audit_helpers import record

# usage objects exactly as the upstream sends them on each transport
CHAT_USAGE_CHUNK = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [], "usage": {
    "prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500,
    "prompt_tokens_details": {"cached_tokens": 1024}, "completion_tokens_details": {"reasoning_tokens": 0}}}
SSE_COMPLETED = {"type": "response.completed", "response": {"id": "resp_1", "status": "completed", "usage": {
    "input_tokens": 52000, "input_tokens_details": {"cached_tokens": 48000},
    "output_tokens": 900, "output_tokens_details": {"reasoning_tokens": 512}, "total_tokens": 52900}}}
WS_COMPLETED = {"type": "response.completed", "response": {"id": "resp_2", "status": "completed", "usage": {
    "input_tokens": 3000, "input_tokens_details": {"cached_tokens": 0},
    "output_tokens": 1000, "output_tokens_details": {"reasoning_tokens": 800}, "total_tokens": 4000}}}

CASES = [
    # (transport, model, usage dict, hand-computed USD)
    ("chat sse", "gpt-4.1-mini", dataclasses.asdict(usage_from_chat(CHAT_USAGE_CHUNK["usage"])),
     (176 * 0.40 + 1024 * 0.10 + 300 * 1.60) / 1e6),
    ("responses sse", "gpt-5-codex", dataclasses.asdict(usage_from_responses(SSE_COMPLETED["response"]["usage"])),
     (4000 * 1.25 + 48000 * 0.125 + 900 * 10.00) / 1e6),
    ("websocket", "o4-mini", dataclasses.asdict(usage_from_responses(WS_COMPLETED["response"]["usage"])),
     (3000 * 1.10 + 1000 * 4.40) / 1e6),
]


@pytest.mark.parametrize("transport,model,usage,expected", CASES, ids=[c[0] for c in CASES])
def test_cost_per_transport_matches_hand_computation(tmp_path, transport, model, usage, expected):
    db = tmp_path / "audit.db"
    with AuditWriter(db) as w:
        w.submit(record(1, transport=transport.split()[-1], model=model, usage=usage)).result(5)
    row = EventStore(db).get(record(1)["id"])
    assert row["cost_usd"] == pytest.approx(expected, rel=1e-9)
    assert (row["input_tokens"], row["cached_input_tokens"], row["output_tokens"], row["reasoning_tokens"]) == (
        usage["input_tokens"], usage["cached_input_tokens"], usage["output_tokens"], usage["reasoning_tokens"])


def test_price_table_covers_current_models_and_snapshots():
    for model in ("gpt-5", "gpt-5-mini", "gpt-5-codex", "gpt-5.1-codex", "gpt-4.1", "gpt-4.1-nano", "gpt-4o",
                  "gpt-4o-mini", "o3", "o4-mini", "codex-mini-latest", "gpt-4o-mini-2024-07-18", "openai/gpt-4.1"):
        assert pricing.price_for(model).source != "unknown", model
    assert pricing.price_for("gpt-4o-mini-2024-07-18").source == "table:gpt-4o-mini"
    assert pricing.price_for("llama-3").source == "unknown"


def test_target_pricing_override_from_config():
    config = parse_config("""
pack: {name: t, version: 0.1.0, enabled: true}
policies: {chain: [audit-logger]}
providers:
  targets:
    - id: azure
      provider: openai
      pricing: {input: 3.0, output: 12.0, models: {gpt-5: {input: 1.0, cached_input: 0.5, output: 4.0}}}
""")
    overrides = pricing.overrides_from_config(config)
    usage = {"input_tokens": 1_000_000, "cached_input_tokens": 400_000, "output_tokens": 100_000}
    assert pricing.cost_usd("gpt-5", usage, overrides["azure"], "azure") == (
        pytest.approx(0.6 + 0.2 + 0.4), "target:azure:gpt-5")
    # flat price; cached_input defaults to input
    assert pricing.cost_usd("gpt-4o", usage, overrides["azure"], "azure")[0] == pytest.approx(3.0 + 1.2)
    errors = []
    from keeptrusts.schema import validate
    validate({"input": 1, "cached": 2}, pricing.PRICING_SCHEMA, "pricing", errors)
    assert [e.path for e in errors] == ["pricing.cached"]


@pytest.fixture
def spend_db(tmp_path):
    db = tmp_path / "audit.db"
    today = dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=30)
    yesterday = today - dt.timedelta(days=1)

    def ts(t):
        return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")

    with AuditWriter(db) as w:
        w.submit(record(1, developer="alice", model="gpt-5-codex", timestamp=ts(yesterday), usage=CASES[1][2])).result(5)
        w.submit(record(2, developer="alice", model="gpt-4.1-mini", timestamp=ts(today), usage=CASES[0][2])).result(5)
        w.submit(record(3, developer="bob", model="o4-mini", timestamp=ts(today), usage=CASES[2][2],
                        verdict="block")).result(5)
        w.submit(record(4, developer="<img src=x onerror=alert(1)>", model="local", timestamp=ts(today),
                        usage=CASES[2][2])).result(5)
    return db


def test_kt_costs_by_developer_model_and_day(spend_db):
    runner = CliRunner()
    r = runner.invoke(cli, ["costs", "--db", str(spend_db), "--json"])
    data = json.loads(r.output)
    by = {row["key"]: row for row in data["rows"]}
    assert by["alice"]["cost_usd"] == pytest.approx(CASES[0][3] + CASES[1][3])
    assert by["alice"]["requests"] == 2 and by["alice"]["input_tokens"] == 1200 + 52000
    assert by["bob"]["cost_usd"] == pytest.approx(CASES[2][3]) and by["bob"]["blocked"] == 1
    assert data["total_usd"] == pytest.approx(CASES[0][3] + CASES[1][3] + CASES[2][3], abs=1e-6)
    r = runner.invoke(cli, ["costs", "--db", str(spend_db), "--by", "model", "--json"])
    assert {row["key"] for row in json.loads(r.output)["rows"]} == {"gpt-5-codex", "gpt-4.1-mini", "o4-mini", "local"}
    r = runner.invoke(cli, ["costs", "--db", str(spend_db), "--by", "day", "--json"])
    assert len(json.loads(r.output)["rows"]) == 2
    r = runner.invoke(cli, ["costs", "--db", str(spend_db)])
    assert r.exit_code == 0
    lines = r.output.splitlines()
    assert lines[0].split()[:3] == ["DEVELOPER", "REQUESTS", "BLOCKED"]
    assert lines[1].startswith("alice") and lines[1].endswith(f"${CASES[0][3] + CASES[1][3]:,.4f}")
    assert lines[-1].startswith("TOTAL")
    midnight = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT00:00:00Z")
    r = runner.invoke(cli, ["costs", "--db", str(spend_db), "--since", midnight, "--json"])
    by = {row["key"]: row for row in json.loads(r.output)["rows"]}
    assert by["alice"]["requests"] == 1 and by["alice"]["cost_usd"] == pytest.approx(CASES[0][3])


def test_kt_report_writes_self_contained_html_with_charts(spend_db, tmp_path):
    out = tmp_path / "report.html"
    r = CliRunner().invoke(cli, ["report", "--db", str(spend_db), "--out", str(out)])
    assert r.exit_code == 0, r.output
    html = out.read_text()
    assert html.count("<svg") == 3                      # redactions, spend over time, verdicts
    assert "alice" in html and "bob" in html and ">block<" in html
    assert "<script" not in html and "src=" not in html.replace("src=x", "")   # no external resources
    assert "<img src=x" not in html and "&lt;img src=x" in html                # names are escaped
    assert f">Spend<b>${CASES[0][3] + CASES[1][3] + CASES[2][3]:.4f}<" in html   # total card (model "local" costs 0)
