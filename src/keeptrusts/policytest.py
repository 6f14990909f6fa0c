"""Golden policy tests (reference section 3): cases run through the real Chain, offline.

A case is `{name, input: {messages, headers, request, upstream_response}, expected: {verdict,
reason_code}}`. Cases come from JSON files beside the config (`tests/<config stem>/*.json`, else
`tests/*.json`; a file holds one case, a list of cases, or `{"cases": [...]}`) and from inline
`testing.suites[].cases` in the config.

The request side builds an Exchange without the wire parsers: `input.messages` (chat shape) and
`input.request` (a chat-completions or responses body) become Segments. `upstream_response`
mocks the provider: a string, a responses body (`output`), or a chat completion (`choices`);
each completed item goes to the chain's `output_item` hook and the whole completion to
`response`, as the gateway does at the end of a stream.

Optional expectations beyond the reference: `expected.policy` (the policy whose verdict decided),
`expected.forwarded_excludes` (strings that must not reach the provider or the client, e.g. the
secret a redaction removed), `expected.forwarded_includes`. A case with `"pending": "why"` runs
and is reported, but does not fail the suite (behaviour not implemented yet).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .chain import Chain, ChainResult
from .config import Config
from .exchange import (ASSISTANT, OTHER, REASONING, SYSTEM, TOOL_CALL_ARGS, TOOL_OUTPUT, USER, Completion,
                       Exchange, OutputItem, Segment, Usage)
from .policies import PolicyContext
from .redaction import Redactor
from .verdicts import VERDICTS

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
# Building an Exchange from a case

_ROLE_KIND = {"system": SYSTEM, "developer": SYSTEM, "user": USER, "assistant": ASSISTANT, "tool": TOOL_OUTPUT,
              "function": TOOL_OUTPUT}


def _content_segments(content: Any, base: tuple, kind: str, role: str, **extra) -> list[Segment]:
    if isinstance(content, str):
        return [Segment(base, kind, content, role, **extra)]
    out = []
    if isinstance(content, list):
        for j, part in enumerate(content):
            if isinstance(part, str):
                out.append(Segment(base + (j,), kind, part, role, **extra))
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                out.append(Segment(base + (j, "text"), kind, part["text"], role, **extra))
    return out


def _chat_segments(messages: list) -> list[Segment]:
    segs: list[Segment] = []
    names: dict[str, str] = {}
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            continue
        role = m.get("role", "user")
        kind = _ROLE_KIND.get(role, OTHER)
        call_id = m.get("tool_call_id")
        segs += _content_segments(m.get("content"), ("messages", i, "content"), kind, role,
                                  tool_name=names.get(call_id) if call_id else m.get("name"), call_id=call_id)
        for j, tc in enumerate(m.get("tool_calls") or []):
            fn = tc.get("function") or {}
            names[tc.get("id", "")] = fn.get("name")
            if isinstance(fn.get("arguments"), str):
                segs.append(Segment(("messages", i, "tool_calls", j, "function", "arguments"), TOOL_CALL_ARGS,
                                    fn["arguments"], role, tool_name=fn.get("name"), call_id=tc.get("id")))
    return segs


def _responses_segments(body: dict) -> list[Segment]:
    segs: list[Segment] = []
    if isinstance(body.get("instructions"), str):
        segs.append(Segment(("instructions",), SYSTEM, body["instructions"], "system"))
    items = body.get("input")
    if isinstance(items, str):
        return segs + [Segment(("input",), USER, items, "user")]
    names: dict[str, str] = {}
    for i, it in enumerate(items or []):
        if not isinstance(it, dict):
            continue
        t = it.get("type", "message")
        base = ("input", i)
        if t == "message":
            role = it.get("role", "user")
            segs += _content_segments(it.get("content"), base + ("content",), _ROLE_KIND.get(role, OTHER), role)
        elif t in ("function_call", "custom_tool_call"):
            key = "arguments" if t == "function_call" else "input"
            names[it.get("call_id", "")] = it.get("name")
            if isinstance(it.get(key), str):
                segs.append(Segment(base + (key,), TOOL_CALL_ARGS, it[key], "assistant",
                                    tool_name=it.get("name"), call_id=it.get("call_id")))
        elif t in ("function_call_output", "custom_tool_call_output", "local_shell_call_output"):
            segs += _content_segments(it.get("output"), base + ("output",), TOOL_OUTPUT, "tool",
                                      tool_name=names.get(it.get("call_id", "")), call_id=it.get("call_id"))
        elif t == "reasoning":
            for j, s in enumerate(it.get("summary") or []):
                if isinstance(s, dict) and isinstance(s.get("text"), str):
                    segs.append(Segment(base + ("summary", j, "text"), REASONING, s["text"], "assistant"))
    return segs


def _tool_names(body: dict) -> list[str]:
    names = []
    for t in body.get("tools") or []:
        if isinstance(t, dict):
            n = t.get("name") or (t.get("function") or {}).get("name")
            if n:
                names.append(n)
    return names


def build_exchange(inp: dict, session_id: str) -> Exchange:
    """The Exchange the gateway would build for this case's request (wire-neutral, no mitmproxy)."""
    body = dict(inp.get("request") or {})
    if "messages" in inp:
        body.setdefault("messages", inp["messages"])
    if "messages" in body:
        api, path, segs = "chat", "/v1/chat/completions", _chat_segments(body["messages"])
    else:
        api, path, segs = "responses", "/v1/responses", _responses_segments(body)
    headers = {str(k).lower(): str(v) for k, v in (inp.get("headers") or {}).items()}
    developer = headers.get("x-user-id") or headers.get("x-keeptrusts-agent-id")
    return Exchange(api=api, transport="sse" if body.get("stream") else "http", path=path,
                    model=body.get("model"), segments=segs, tools=_tool_names(body), developer=developer,
                    session_id=session_id, headers=headers)


def build_completion(resp: Any) -> Completion:
    """The mocked provider answer as completed output items."""
    if isinstance(resp, str):
        return Completion([OutputItem("message", resp)], finish_reason="stop", status="completed")
    if not isinstance(resp, dict):
        raise CaseError("upstream_response must be a string, a responses body (output) or a chat completion (choices)")
    items: list[OutputItem] = []
    usage = None
    if "choices" in resp:
        choice = (resp.get("choices") or [{}])[0]
        msg = choice.get("message") or {}
        if isinstance(msg.get("content"), str) and msg["content"]:
            items.append(OutputItem("message", msg["content"], index=0))
        for tc in msg.get("tool_calls") or []:
            fn = tc.get("function") or {}
            items.append(OutputItem("function_call", fn.get("arguments") or "", fn.get("name"), tc.get("id"), len(items)))
        u = resp.get("usage") or {}
        if u:
            usage = Usage(u.get("prompt_tokens", 0), (u.get("prompt_tokens_details") or {}).get("cached_tokens", 0),
                          u.get("completion_tokens", 0))
        return Completion(items, choice.get("finish_reason") or "stop", usage, "completed")
    if "output_text" in resp and "output" not in resp:
        items.append(OutputItem("message", resp["output_text"]))
    for it in resp.get("output") or []:
        t = it.get("type")
        if t == "message":
            text = "".join(c.get("text", "") for c in it.get("content") or [] if isinstance(c, dict))
            items.append(OutputItem("message", text, index=len(items)))
        elif t == "function_call":
            items.append(OutputItem(t, it.get("arguments", ""), it.get("name"), it.get("call_id"), len(items)))
        elif t == "custom_tool_call":
            items.append(OutputItem(t, it.get("input", ""), it.get("name"), it.get("call_id"), len(items)))
        elif t == "local_shell_call":
            items.append(OutputItem(t, json.dumps(it.get("action") or {}), "local_shell", it.get("call_id"), len(items)))
        elif t == "reasoning":
            text = "".join(s.get("text", "") for s in it.get("summary") or [] if isinstance(s, dict))
            items.append(OutputItem(t, text, index=len(items)))
    u = resp.get("usage") or {}
    if u:
        usage = Usage(u.get("input_tokens", 0), (u.get("input_tokens_details") or {}).get("cached_tokens", 0),
                      u.get("output_tokens", 0), (u.get("output_tokens_details") or {}).get("reasoning_tokens", 0))
    finish = "length" if (resp.get("incomplete_details") or {}).get("reason") == "max_output_tokens" else "stop"
    return Completion(items, finish, usage, resp.get("status", "completed"))


# ---------------------------------------------------------------------------------------------
# Running

def _norm_reason(code: str | None) -> str:
    # The reference spells one code both `prompt_injection.detected` and `prompt_injection_detected`.
    return (code or "").replace(".", "_")


def run_case(chain: Chain, case: Case) -> CaseResult:
    exchange = build_exchange(case.input, session_id=f"policy-test:{case.name}")
    result = ChainResult()
    error = None
    try:
        result.extend(chain.request(exchange))
        resp = case.input.get("upstream_response")
        if resp is not None and not result.blocked:
            completion = build_completion(resp)
            exchange.completion = Completion([], completion.finish_reason, completion.usage, completion.status)
            for item in completion.items:
                r = chain.output_item(exchange, item)
                result.extend(r)
                exchange.completion.items.append(item)
                if r.blocked:
                    break
            if not result.blocked:
                result.extend(chain.response(exchange))
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
    forwarded = "\n".join([s.text for s in exchange.segments] +
                          [i.text for i in (exchange.completion.items if exchange.completion else [])])
    for s in exp.get("forwarded_excludes") or []:
        if s in forwarded:
            failures.append(f"forwarded text still contains {_preview(s)}")
    for s in exp.get("forwarded_includes") or []:
        if s not in forwarded:
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
