"""kt policy test: golden cases through the real chain, with a stand-in policy whose behaviour is known."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from keeptrusts.cli.main import cli
from keeptrusts.exchange import OTHER, TOOL_CALL_ARGS, TOOL_OUTPUT, USER
from keeptrusts.policies import REGISTRY, Policy
from keeptrusts.policytest import build_exchange, response_body
from keeptrusts.wire.responses_json import judge_response_body
from keeptrusts.wire.judge import PassJudge
from keeptrusts.verdicts import BLOCK, FLAG, REDACT, Finding


class Tripwire(Policy):
    """Blocks 'forbidden' in the request, redacts 's3cr3t-value', blocks `rm -rf` tool calls, scores output."""

    kind = "kt-tripwire"
    phases = ("input", "output")

    def request(self, exchange):
        for seg in exchange.segments:
            if "forbidden" in seg.text:
                return self.verdict(BLOCK, "tripwire_hit", findings=[Finding("forbidden", BLOCK, seg.where)])
        hits = [s for s in exchange.segments if "s3cr3t-value" in s.text]
        for seg in hits:
            seg.text = seg.text.replace("s3cr3t-value", "<SECRET:test:00000000>")
        return self.verdict(REDACT, "secret_detected") if hits else self.allow()

    def output_item(self, exchange, item):
        if item.is_tool_call and "rm -rf" in item.text:
            return self.verdict(BLOCK, "dangerous_command", phase="output")
        return self.allow(phase="output")

    def response(self, exchange):
        text = exchange.completion.text
        if len(text) < 5:
            return self.verdict(FLAG, "low_quality", phase="output", score=0.1)
        return self.allow(phase="output")


@pytest.fixture(autouse=True)
def tripwire(monkeypatch):
    monkeypatch.setitem(REGISTRY, "kt-tripwire", Tripwire)


CONFIG = """\
pack: {name: demo, version: 0.3.0, enabled: true}
policies: {chain: [kt-tripwire, audit-logger]}
"""


def case(name, verdict, content="hello", **extra):
    c = {"name": name, "input": {"messages": [{"role": "user", "content": content}]}, "expected": {"verdict": verdict}}
    for k, v in extra.items():
        (c["input"] if k in ("upstream_response", "headers", "request") else c["expected"] if k in (
            "reason_code", "policy", "forwarded_excludes", "forwarded_includes") else c)[k] = v
    return c


def write_pack(tmp_path, cases, config=CONFIG, tests_sub="tests"):
    (tmp_path / "policy-config.yaml").write_text(config)
    d = tmp_path / tests_sub
    d.mkdir(parents=True, exist_ok=True)
    for i, c in enumerate(cases):
        (d / f"{i:02d}-{c['name']}.json").write_text(json.dumps(c))
    return tmp_path


def invoke(*args):
    return CliRunner().invoke(cli, ["policy", "test", *args], catch_exceptions=False)


def test_passing_suite_prints_table_and_exits_zero(tmp_path):
    write_pack(tmp_path, [case("allows-hello", "allow", reason_code="all_policies_passed"),
                          case("blocks-forbidden", "block", "this is forbidden", reason_code="tripwire_hit",
                               policy="kt-tripwire")])
    r = invoke("--pack-dir", str(tmp_path))
    assert r.exit_code == 0, r.output
    assert "PASS     allows-hello" in r.output
    assert "PASS     blocks-forbidden" in r.output
    assert "2 passed, 0 failed" in r.output


def test_a_wrong_expectation_fails_with_exit_one_and_says_why(tmp_path):
    write_pack(tmp_path, [case("should-block", "block", "harmless")])
    r = invoke("--pack-dir", str(tmp_path))
    assert r.exit_code == 1
    assert "FAIL" in r.output and "verdict: expected block, got allow" in r.output


def test_json_output_has_the_reference_shape(tmp_path):
    write_pack(tmp_path, [case("blocks", "block", "forbidden!", reason_code="tripwire_hit")])
    r = invoke("--pack-dir", str(tmp_path), "--json")
    assert r.exit_code == 0
    doc = json.loads(r.output)
    assert doc["ok"] is True
    (res,) = doc["results"]
    assert {"name", "verdict", "reason_code", "passed", "details"} <= set(res)
    assert res["verdict"] == "block" and res["reason_code"] == "tripwire_hit" and res["passed"] is True
    # The block short-circuits the chain: audit-logger never ran.
    assert [p["policy"] for p in res["details"]["policy_results"]] == ["kt-tripwire"]
    assert res["details"]["quality_scores"] is None


def test_reason_code_mismatch_fails_and_dot_spelling_is_accepted(tmp_path):
    write_pack(tmp_path, [case("dot-form", "block", "forbidden", reason_code="tripwire.hit"),
                          case("wrong", "block", "forbidden", reason_code="something_else")])
    doc = json.loads(invoke("--pack-dir", str(tmp_path), "--json").output)
    by = {r["name"]: r for r in doc["results"]}
    assert by["dot-form"]["passed"] is True
    assert by["wrong"]["failures"] == ["reason_code: expected something_else, got tripwire_hit"]
    assert doc["ok"] is False


def test_inline_testing_suites_run_with_files(tmp_path):
    config = CONFIG + """\
testing:
  suites:
    - name: inline
      cases:
        - name: inline-block
          input: {messages: [{role: user, content: "forbidden"}], headers: {X-User-Id: alice}}
          expected: {verdict: block}
"""
    write_pack(tmp_path, [case("file-allow", "allow")], config=config)
    doc = json.loads(invoke("--file", str(tmp_path / "policy-config.yaml"), "--json").output)
    assert [(r["name"], r["suite"], r["passed"]) for r in doc["results"]] == [
        ("file-allow", None, True), ("inline-block", "inline", True)]


def test_named_packs_find_tests_in_a_folder_named_after_the_config(tmp_path):
    (tmp_path / "strictish.yaml").write_text(CONFIG)
    d = tmp_path / "tests" / "strictish"
    d.mkdir(parents=True)
    (d / "a.json").write_text(json.dumps([case("one", "allow"), case("two", "block", "forbidden")]))
    r = invoke("--file", str(tmp_path / "strictish.yaml"))
    assert r.exit_code == 0 and "2 passed" in r.output


def test_redaction_is_checked_on_what_is_forwarded(tmp_path):
    write_pack(tmp_path, [
        case("redacts", "redact", "key=s3cr3t-value", reason_code="secret_detected",
             forwarded_excludes=["s3cr3t-value"], forwarded_includes=["<SECRET:test:"]),
        case("not-redacted", "allow", "key=other", forwarded_excludes=["key=other"]),
    ])
    doc = json.loads(invoke("--pack-dir", str(tmp_path), "--json").output)
    by = {r["name"]: r for r in doc["results"]}
    assert by["redacts"]["passed"] is True
    assert by["not-redacted"]["passed"] is False
    # The failure line never prints the whole value it looked for.
    assert "key=other" not in json.dumps(by["not-redacted"]["failures"])


def test_mocked_upstream_response_reaches_output_hooks(tmp_path):
    tool_call = {"output": [{"type": "function_call", "name": "exec_command", "call_id": "c1",
                             "arguments": json.dumps({"cmd": "rm -rf /"})}]}
    chat_call = {"choices": [{"message": {"role": "assistant", "content": None, "tool_calls": [
        {"id": "t1", "type": "function", "function": {"name": "shell", "arguments": '{"command": "rm -rf ~"}'}}]},
        "finish_reason": "tool_calls"}]}
    write_pack(tmp_path, [
        case("blocks-tool-call", "block", upstream_response=tool_call, reason_code="dangerous_command"),
        case("blocks-chat-tool-call", "block", upstream_response=chat_call),
        case("flags-short-answer", "flag", upstream_response="ok", reason_code="low_quality"),
        case("long-answer-allowed", "allow", upstream_response="A complete, useful answer."),
        case("input-block-skips-output", "block", "forbidden", upstream_response="fine answer here",
             reason_code="tripwire_hit"),
    ])
    doc = json.loads(invoke("--pack-dir", str(tmp_path), "--json").output)
    assert doc["ok"] is True, [r["failures"] for r in doc["results"]]
    by = {r["name"]: r for r in doc["results"]}
    assert by["flags-short-answer"]["details"]["quality_scores"] is None  # score came from kt-tripwire, not quality-scorer
    phases = [p["phase"] for p in by["long-answer-allowed"]["details"]["policy_results"]]
    assert "output" in phases


def test_pending_cases_are_reported_but_do_not_fail_the_suite(tmp_path):
    c = case("future-feature", "block", "not yet caught")
    c["pending"] = "waiting for issue 42"
    fixed = case("already-works", "block", "forbidden")
    fixed["pending"] = "was waiting"
    write_pack(tmp_path, [c, fixed])
    r = invoke("--pack-dir", str(tmp_path))
    assert r.exit_code == 0, r.output
    assert "PENDING  future-feature" in r.output and "waiting for issue 42" in r.output
    assert "FIXED" in r.output and "remove 'pending'" in r.output


@pytest.mark.parametrize("bad, message", [
    ({"name": "x", "input": {"messages": []}}, "'expected' must be an object"),
    ({"name": "x", "input": {"messages": []}, "expected": {"verdict": "deny"}}, "is not one of"),
    ({"name": "x", "input": {"mesages": []}, "expected": {"verdict": "allow"}}, "unknown input key"),
    ({"input": {"messages": []}, "expected": {"verdict": "allow"}}, "missing 'name'"),
])
def test_malformed_cases_are_user_errors_naming_the_file(tmp_path, bad, message):
    write_pack(tmp_path, [])
    (tmp_path / "tests" / "bad.json").write_text(json.dumps(bad))
    r = CliRunner().invoke(cli, ["policy", "test", "--pack-dir", str(tmp_path)])
    assert r.exit_code != 0
    assert message in r.output and "bad.json" in r.output
    assert "Traceback" not in r.output


def test_invalid_json_and_duplicate_names(tmp_path):
    write_pack(tmp_path, [case("same", "allow")])
    (tmp_path / "tests" / "z.json").write_text(json.dumps(case("same", "allow")))
    r = CliRunner().invoke(cli, ["policy", "test", "--pack-dir", str(tmp_path), "--json"])
    assert r.exit_code == 2 and "duplicate case name" in json.loads(r.output)["error"]
    (tmp_path / "tests" / "z.json").write_text("{not json")
    r = CliRunner().invoke(cli, ["policy", "test", "--pack-dir", str(tmp_path)])
    assert r.exit_code != 0 and "z.json:1:2: invalid JSON" in r.output


def test_invalid_config_points_at_lint(tmp_path):
    (tmp_path / "policy-config.yaml").write_text("pack: {name: x, version: 1.0.0, enabled: true}\npolicies: {chain: [nope]}\n")
    r = CliRunner().invoke(cli, ["policy", "test", "--pack-dir", str(tmp_path)])
    assert r.exit_code != 0 and "Unknown policy kind 'nope'" in r.output and "kt policy lint" in r.output


def test_responses_request_becomes_typed_segments():
    body = {"model": "gpt-5", "instructions": "be brief", "stream": True,
            "tools": [{"type": "function", "name": "exec_command"}],
            "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "list files"}]},
                      {"type": "function_call", "name": "exec_command", "call_id": "c1", "arguments": '{"cmd":"ls"}'},
                      {"type": "function_call_output", "call_id": "c1", "output": "README.md"}]}
    ex, _ = build_exchange({"request": body, "headers": {"X-User-Id": "bob"}}, "s1")
    assert (ex.api, ex.transport, ex.model, ex.developer, ex.tools) == ("responses", "sse", "gpt-5", "bob", ["exec_command"])
    kinds = [(s.kind, s.text, s.tool_name) for s in ex.segments if s.kind != OTHER]
    assert kinds[1:] == [(USER, "list files", None), (TOOL_CALL_ARGS, '{"cmd":"ls"}', "exec_command"),
                         (TOOL_OUTPUT, "README.md", "exec_command")]
    assert ex.segments[3].where == "input[2].output"


def test_chat_tool_message_gets_the_tool_name_of_its_call():
    msgs = [{"role": "assistant", "tool_calls": [{"id": "call_A1", "function": {"name": "read_file", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_A1", "content": "file body"}]
    ex, _ = build_exchange({"messages": msgs}, "s")
    assert [(s.kind, s.tool_name) for s in ex.segments if s.kind != OTHER] == [
        (TOOL_CALL_ARGS, "read_file"), (TOOL_OUTPUT, "read_file")]
    # The closed-world floor: every other string of the body is a segment too (here the call ids); short
    # lower-case words (roles, tool names, item types) carry nothing a policy could find and are skipped.
    assert [s.text for s in ex.segments if s.kind == OTHER] == ["call_A1", "call_A1"]


def test_mocked_answers_take_the_shape_of_their_api():
    assert response_body("chat", "hi")[1]["choices"][0]["message"]["content"] == "hi"
    api, body = response_body("chat", {"output": [{"type": "message", "content": [{"type": "output_text", "text": "x"}]}]})
    assert api == "responses"   # a responses body stays one, whatever the request was
    _, _, c = judge_response_body(*response_body("responses", {
        "status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"},
        "output": [{"type": "message", "content": [{"type": "output_text", "text": "Hi"}]}],
        "usage": {"input_tokens": 10, "output_tokens": 2}}), PassJudge())
    assert (c.text, c.finish_reason, c.usage.input_tokens, c.status) == ("Hi", "max_output_tokens", 10, "incomplete")


def test_a_malformed_request_is_a_case_failure_not_a_crash(tmp_path):
    bad = {"name": "bad-shape", "input": {"request": {"messages": "not a list"}}, "expected": {"verdict": "allow"}}
    write_pack(tmp_path, [bad])
    doc = json.loads(invoke("--pack-dir", str(tmp_path), "--json").output)
    assert doc["ok"] is False and "not a valid chat request" in doc["results"][0]["failures"][0]


def test_redaction_is_written_back_into_the_forwarded_body(tmp_path):
    c = {"name": "json-body", "input": {"request": {"model": "m", "input": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "key=s3cr3t-value"}]}]}},
         "expected": {"verdict": "redact", "forwarded_includes": ['"text":"key=<SECRET:test:00000000>"'],
                      "forwarded_excludes": ["s3cr3t-value"]}}
    write_pack(tmp_path, [c])
    doc = json.loads(invoke("--pack-dir", str(tmp_path), "--json").output)
    assert doc["ok"] is True, doc["results"][0]["failures"]


def test_options_only_a_policy_can_judge_are_reported_before_any_case_runs(tmp_path):
    class Picky(Policy):
        kind = "kt-picky"
        options_schema = {"pattern": str}

        def __init__(self, options=None, context=None):
            super().__init__(options, context)
            import re
            re.compile(self.options.get("pattern", ""))

    REGISTRY["kt-picky"] = Picky
    try:
        config = CONFIG.replace("[kt-tripwire, audit-logger]", "[kt-picky]") + "policy: {kt-picky: {pattern: '(unclosed'}}\n"
        write_pack(tmp_path, [case("x", "allow")], config=config)
        r = CliRunner().invoke(cli, ["policy", "test", "--pack-dir", str(tmp_path)])
        assert r.exit_code == 2 and "would refuse this config" in r.output and "policy.kt-picky" in r.output
        doc = json.loads(CliRunner().invoke(cli, ["policy", "test", "--pack-dir", str(tmp_path), "--json"]).output)
        assert doc["ok"] is False and "unterminated subpattern" in doc["error"]
    finally:
        del REGISTRY["kt-picky"]
