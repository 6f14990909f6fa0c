"""Golden policy tests (reference section 3): cases run through the real Chain, offline.

A case is `{name, input: {messages, headers, request, upstream_response}, expected: {verdict,
reason_code}}`. Cases come from JSON files beside the config (`tests/<config stem>/*.json`, else
`tests/*.json`; a file holds one case, a list of cases, or `{"cases": [...]}`) and from inline
`testing.suites[].cases` in the config.

Both sides go through the gateway's own wire code, so a case sees what live traffic sees:
`input.messages` (chat shape) or `input.request` (a chat-completions or responses body) is parsed
and judged by the gateway's own turn pipeline (`keeptrusts.turn.judge_request`: typed segments and every
other string of the body, edits written back); `upstream_response` mocks the provider (a string, a
responses body with `output`, or a chat completion with `choices`) and is judged by
`wire.responses_json.judge_response_body` with the gateway's `turn.OutputJudge`: each item through the
chain's `output_item` hook, then the whole completion through `response`. Placeholders are not restored
in tool calls here (the gateway restores them for the client), so checks see what policies left.

Optional expectations beyond the reference: `expected.policy` (the policy whose verdict decided),
`expected.forwarded_excludes` (strings that must not reach the provider or the client, e.g. the
secret a redaction removed), `expected.forwarded_includes`. A case with `"pending": "why"` runs
and is reported, but does not fail the suite (behaviour not implemented yet).
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .chain import Chain, ChainResult
from .config import Config
from .exchange import Exchange
from .policies import PolicyContext
from .redaction import Redactor
from .turn import OutputJudge, Turn, fill_exchange, judge_request
from .verdicts import VERDICTS
from .wire import requests as wire_requests
from .wire.responses_json import judge_response_body

# A fixed key: placeholders in test output are the same on every machine and every run.
TEST_REDACTION_KEY = b"keeptrusts-policy-test-key-00000"

INPUT_KEYS = {"messages", "headers", "request", "upstream_response", "proxy_name", "team_slugs"}
EXPECTED_KEYS = {"verdict", "reason_code", "policy", "forwarded_excludes", "forwarded_includes"}
CASE_KEYS = {"name", "description", "input", "expected", "pending"}


class CaseError(Exception):
    """A malformed test case: the message names the file and the case."""


@dataclass
class Case:
    name: str
    source: str                 # file path, or `<config>#testing.suites[<suite>]`
    input: dict
    expected: dict
    pending: str | None = None
    suite: str | None = None


@dataclass
class CaseResult:
    case: Case
    verdict: str
    reason_code: str
    policy: str | None
    failures: list[str]
    policy_results: list[dict] = field(default_factory=list)
    quality_scores: dict | None = None
    error: str | None = None

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def status(self) -> str:
        if self.case.pending:
            return "FIXED" if self.passed else "PENDING"
        return "PASS" if self.passed else "FAIL"

    @property
    def counts_as_failure(self) -> bool:
        return not self.passed and not self.case.pending

    def to_dict(self) -> dict:
        d = {
            "name": self.case.name, "suite": self.case.suite, "source": self.case.source,
            "verdict": self.verdict, "reason_code": self.reason_code, "policy": self.policy,
            "passed": self.passed, "status": self.status.lower(),
            "expected": self.case.expected, "failures": self.failures,
            "details": {"policy_results": self.policy_results, "quality_scores": self.quality_scores},
        }
        if self.case.pending:
            d["pending"] = self.case.pending
        if self.error:
            d["error"] = self.error
        return d


# ---------------------------------------------------------------------------------------------
# Finding cases

def tests_dir_for(config_file: str | Path) -> Path:
    """`tests/<stem>/` beside the config when it exists (several packs in one folder), else `tests/`."""
    p = Path(config_file)
    per_pack = p.parent / "tests" / p.stem
    return per_pack if per_pack.is_dir() else p.parent / "tests"


def _check_case(raw: Any, source: str, index: int) -> Case:
    where = f"{source} case {index}"
    if not isinstance(raw, dict):
        raise CaseError(f"{where}: a case must be a JSON object with name, input, expected")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise CaseError(f"{where}: missing 'name' (a non-empty string)")
    where = f"{source} case '{name}'"
    unknown = set(raw) - CASE_KEYS
    if unknown:
        raise CaseError(f"{where}: unknown key(s) {sorted(unknown)}; valid keys are {sorted(CASE_KEYS)}")
    inp, exp = raw.get("input"), raw.get("expected")
    if not isinstance(inp, dict):
        raise CaseError(f"{where}: 'input' must be an object with messages and/or request")
    if set(inp) - INPUT_KEYS:
        raise CaseError(f"{where}: unknown input key(s) {sorted(set(inp) - INPUT_KEYS)}; valid keys are {sorted(INPUT_KEYS)}")
    if "messages" not in inp and "request" not in inp:
        raise CaseError(f"{where}: input needs 'messages' or 'request'")
    if not isinstance(exp, dict) or "verdict" not in exp:
        raise CaseError(f"{where}: 'expected' must be an object with at least 'verdict'")
    if set(exp) - EXPECTED_KEYS:
        raise CaseError(f"{where}: unknown expected key(s) {sorted(set(exp) - EXPECTED_KEYS)}; valid keys are {sorted(EXPECTED_KEYS)}")
    if exp["verdict"] not in VERDICTS:
        raise CaseError(f"{where}: expected.verdict {exp['verdict']!r} is not one of {list(VERDICTS)}")
    pending = raw.get("pending")
    if pending is not None and not isinstance(pending, str):
        raise CaseError(f"{where}: 'pending' must be a string saying what is not implemented yet")
    return Case(name, source, inp, exp, pending)


def load_case_file(path: Path) -> list[Case]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CaseError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    raws = data if isinstance(data, list) else data.get("cases") if isinstance(data, dict) and "cases" in data else [data]
    if not isinstance(raws, list):
        raise CaseError(f"{path}: 'cases' must be a list")
    return [_check_case(r, str(path), i) for i, r in enumerate(raws)]


def discover(config: Config, tests_dir: str | Path | None = None) -> list[Case]:
    """All cases for a config: JSON files in its tests folder, then inline `testing.suites`."""
    cases: list[Case] = []
    folder = Path(tests_dir) if tests_dir else tests_dir_for(config.file)
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            cases.extend(load_case_file(path))
    for suite in ((config.raw.get("testing") or {}).get("suites") or []):
        source = f"{config.file}#testing.suites[{suite['name']}]"
        for i, raw in enumerate(suite.get("cases") or []):
            case = _check_case(raw, source, i)
            case.suite = suite["name"]
            cases.append(case)
    names = [c.name for c in cases]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise CaseError(f"duplicate case name(s) {dupes}: give every case a unique name")
    return cases


# ---------------------------------------------------------------------------------------------
# Building an Exchange from a case: the gateway's own wire parsers, so a case sees what traffic sees

def request_body(inp: dict) -> tuple[str, dict]:
    """(api, body) of the case's request: `input.request`, with `input.messages` as a chat request."""
    body = copy.deepcopy(inp.get("request") or {})
    if "messages" in inp:
        body.setdefault("messages", copy.deepcopy(inp["messages"]))
    return ("chat" if "messages" in body else "responses"), body


def build_exchange(inp: dict, session_id: str) -> tuple[Exchange, dict]:
    """The Exchange the gateway would build for this request (every string of it), and its body."""
    api, body = request_body(inp)
    try:
        segments, tools, _ = wire_requests.extract_all(api, body)
    except wire_requests.RequestShapeError as exc:
        raise CaseError(f"input.request is not a valid {api} request: {exc}") from None
    exchange = _exchange(inp, api, body, session_id)
    exchange.segments, exchange.tools = segments, tools
    return exchange, body


def _exchange(inp: dict, api: str, body: dict, session_id: str) -> Exchange:
    headers = {str(k).lower(): str(v) for k, v in (inp.get("headers") or {}).items()}
    developer = headers.get("x-user-id") or headers.get("x-keeptrusts-agent-id")
    path = "/v1/chat/completions" if api == "chat" else "/v1/responses"
    exchange = Exchange(api=api, transport="sse" if body.get("stream") else "http", path=path, developer=developer)
    fill_exchange(exchange, body, headers)
    exchange.session_id = session_id
    return exchange


def response_body(api: str, resp: Any) -> tuple[str, dict]:
    """(api, body) of the mocked provider answer: a string becomes one message in the request's API."""
    if isinstance(resp, dict) and "output_text" in resp and "output" not in resp and "choices" not in resp:
        resp = resp["output_text"]
    if isinstance(resp, str):
        if api == "chat":
            return api, {"object": "chat.completion", "choices": [
                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": resp}}]}
        return "responses", {"object": "response", "status": "completed", "output": [
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": resp}]}]}
    if isinstance(resp, dict) and "choices" in resp:
        return "chat", copy.deepcopy(resp)
    if isinstance(resp, dict) and "output" in resp:
        return "responses", copy.deepcopy(resp)
    raise CaseError("upstream_response must be a string, a responses body (output) or a chat completion (choices)")


# ---------------------------------------------------------------------------------------------
# Running

def _norm_reason(code: str | None) -> str:
    # The reference spells one code both `prompt_injection.detected` and `prompt_injection_detected`.
    return (code or "").replace(".", "_")


def run_case(chain: Chain, case: Case) -> CaseResult:
    result = ChainResult()
    error = None
    forwarded: list[str] = []
    try:
        api, body = request_body(case.input)
        exchange = _exchange(case.input, api, body, f"policy-test:{case.name}")
        try:
            judged = judge_request(chain, exchange, api, body, headers=exchange.headers)
        except wire_requests.RequestShapeError as exc:
            raise CaseError(f"input.request is not a valid {api} request: {exc}") from None
        exchange.session_id = f"policy-test:{case.name}"
        result.extend(judged.result)
        if not judged.refusal:
            forwarded += [s.text for s in exchange.segments] + [judged.forward]
            resp = case.input.get("upstream_response")
            if resp is not None:
                api, rbody = response_body(exchange.api, resp)
                # The gateway's own output judge, without placeholder restore (checks see what policies left).
                turn = Turn(exchange, {}, 0.0)
                _, _, completion = judge_response_body(api, rbody, OutputJudge(chain, turn))
                result.extend(turn.output_result)
                forwarded += [i.text for i in completion.items] + [json.dumps(rbody, ensure_ascii=False)]
    except CaseError as exc:
        error = str(exc)
    verdict, reason = result.verdict, result.reason_code
    top = next((v for v in result.verdicts if v.verdict == verdict and verdict != "allow"), None)
    failures: list[str] = []
    if error:
        failures.append(error)
    exp = case.expected
    if verdict != exp["verdict"]:
        failures.append(f"verdict: expected {exp['verdict']}, got {verdict}")
    if "reason_code" in exp and _norm_reason(exp["reason_code"]) != _norm_reason(reason):
        failures.append(f"reason_code: expected {exp['reason_code']}, got {reason}")
    if "policy" in exp and (top.policy if top else None) != exp["policy"]:
        failures.append(f"policy: expected {exp['policy']}, got {top.policy if top else None}")
    for s in exp.get("forwarded_excludes") or []:
        if any(s in text for text in forwarded):
            failures.append(f"forwarded text still contains {_preview(s)}")
    for s in exp.get("forwarded_includes") or []:
        if not any(s in text for text in forwarded):
            failures.append(f"forwarded text lacks {_preview(s)}")
    scores = {v.policy: v.score for v in result.verdicts if v.policy == "quality-scorer" and v.score is not None}
    return CaseResult(case, verdict, reason, top.policy if top else None, failures,
                      [v.to_dict() for v in result.verdicts], scores or None, error)


def _preview(s: str) -> str:
    # Failure lines go to terminals and CI logs: show the start of a string only.
    return repr(s[:6] + "…") if len(s) > 8 else repr(s)


def make_chain(config: Config) -> Chain:
    context = PolicyContext(redactor=Redactor(TEST_REDACTION_KEY))
    return Chain(config, context, fail_mode=config.gateway.get("fail_mode", "block"))


def run(config: Config, tests_dir: str | Path | None = None) -> list[CaseResult]:
    """Discover and run every case of a config through one chain (built once: policies load once)."""
    cases = discover(config, tests_dir)
    chain = make_chain(config)
    return [run_case(chain, c) for c in cases]
