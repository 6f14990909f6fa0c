"""quality-scorer: scores each completion (reference 2.7), locally and deterministically.

Checks (each 0..1, skipped when it does not apply; the score is their weighted mean):
- `complete`: not cut by a length stop (`finish_reason` length / status incomplete)
- `answered`: the message is not a refusal ("I can't help with that", or an item of kind "refusal")
- `code_parses`: fenced Python / JavaScript / JSON blocks and files a patch adds parse
- `patch_applies`: each hunk of an apply_patch update matches the file contents the model has
  seen in this conversation (tool outputs); hunks of files never shown are not judged
- `length`: `min_output_chars` / `min_sentences` on a final answer (a message without tool calls)
- assertions (`contains`, `icontains`, `contains-any`, `contains-all`, `equals`, `starts-with`,
  `regex`, `is-json`, `is-valid-python`, `is-valid-javascript`) on the final answer's text.
  LLM-judged types (llm-rubric, factuality, ...) need a judge model and are reported as skipped.

Below the threshold (`thresholds.min_aggregate`, `min_score` or `pass_policy.threshold`, default
0.7) or with a failed `enforce` assertion or a per-check minimum (`thresholds.min_<check>`), the
verdict is flag (warn), or `failure_action.action` (block / escalate). The score is in Verdict.score.
"""
from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass

from ..exchange import TOOL_OUTPUT, Exchange
from ..schema import Any, Choice, ListOf, MapOf, Number
from ..toolcalls.actions import extract_actions
from ..toolcalls.js import js_syntax_ok
from ..toolcalls.patch import FileOp
from ..verdicts import ALLOW, BLOCK, ESCALATE, FLAG, Finding, Verdict
from .base import Policy

DEFAULT_THRESHOLD = 0.7
LENGTH_STOPS = {"length", "max_tokens", "max_output_tokens", "content_filter"}
REFUSAL_RE = re.compile(
    r"^\W*(i'?m sorry,? (but )?|sorry,? (but )?|unfortunately,? )?"
    r"(i (can'?t|cannot|won'?t|will not|am unable to|am not able to|'m unable to|'m not able to)"
    r" (help|assist|comply|do that|provide|complete|fulfil)|as an ai\b[^.]{0,40}\b(can'?t|cannot))", re.I)
FENCE_RE = re.compile(r"```[ \t]*([A-Za-z0-9_+.-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)
LANG = {"python": "python", "py": "python", "python3": "python", "javascript": "js", "js": "js", "mjs": "js",
        "cjs": "js", "node": "js", "json": "json"}
EXT = {".py": "python", ".js": "js", ".mjs": "js", ".cjs": "js", ".json": "json"}
LINE_NO_RE = re.compile(r"^\s*\d+(?:\t|: ?|\| ?|  )")
FAIL_ACTIONS = {"block": BLOCK, "escalate": ESCALATE, "warn": FLAG, "flag": FLAG}
LOCAL_ASSERTIONS = {"contains", "icontains", "contains-any", "contains-all", "equals", "starts-with", "regex",
                    "is-json", "is-valid-python", "is-valid-javascript"}
ASSERTION_SCHEMA = {
    "type": str, "name": str, "enabled": bool, "threshold": Number, "weight": Number,
    "mode": Choice("enforce", "audit", "shadow"), "severity": Choice("critical", "warning", "info"),
    "value": Any, "negate": bool, "case_sensitive": bool, "provider": Any, "pack": Any, "config": MapOf(Any),
}


@dataclass
class Check:
    name: str
    score: float
    detail: str = ""
    weight: float = 1.0


class QualityScorer(Policy):
    kind = "quality-scorer"
    phases = ("output",)
    single_document = True
    options_schema = {
        "industry": str,
        "min_output_chars": int,
        "min_sentences": int,
        "mock_scoring": bool,
        "min_score": Number,
        "providers": ListOf(Any),
        "benchmarks": MapOf(bool),
        "assertions": ListOf(ASSERTION_SCHEMA),
        "thresholds": MapOf(Number),
        "weights": MapOf(Number),
        "pass_policy": {"strategy": str, "threshold": Number},
        "failure_action": {"action": Choice("block", "warn", "flag", "escalate")},
    }

    def __init__(self, options=None, context=None):
        super().__init__(options, context)
        o = self.options
        t = o.get("thresholds") or {}
        self.threshold = float(t.get("min_aggregate", o.get("min_score", (o.get("pass_policy") or {}).get(
            "threshold", DEFAULT_THRESHOLD))))
        self.minimums = {k[4:]: float(v) for k, v in t.items() if k.startswith("min_") and k != "min_aggregate"}
        self.minimums.setdefault("length", 1.0)   # min_output_chars / min_sentences are hard minimums
        self.weights = {k: float(v) for k, v in (o.get("weights") or {}).items()}
        self.on_fail = FAIL_ACTIONS[(o.get("failure_action") or {}).get("action", "warn")]
        self.assertions = [a for a in o.get("assertions", []) if a.get("enabled", True)]
        for i, a in enumerate(self.assertions):   # a bad regex is a config error, not a failed response
            if a.get("type") == "regex":
                try:
                    re.compile(str(a.get("value")))
                except re.error as exc:
                    raise ValueError(f"policy.quality-scorer.assertions[{i}]: bad regex {a.get('value')!r}: {exc}") from None

    def response(self, exchange: Exchange) -> Verdict:
        comp = exchange.completion
        if comp is None:
            return self.allow(phase="output")
        text = comp.text
        tool_items = [i for i in comp.items if i.is_tool_call]
        final_answer = bool(text.strip()) and not tool_items
        checks: list[Check] = []
        truncated = (comp.finish_reason or "") in LENGTH_STOPS or comp.status == "incomplete"
        checks.append(Check("complete", 0.0 if truncated else 1.0,
                            f"stopped by {comp.finish_reason or comp.status}" if truncated else ""))
        refused = [i for i in comp.items if i.kind == "refusal"]   # a refusal content part / message.refusal
        if refused and not tool_items:
            checks.append(Check("answered", 0.0, "refusal: " + refused[0].text[:70]))
        elif text.strip():
            refusal = REFUSAL_RE.search(text[:300].strip())
            checks.append(Check("answered", 0.0 if refusal and not tool_items else 1.0,
                                refusal.group(0)[:80] if refusal and not tool_items else ""))
        ops = self._patch_ops(exchange, tool_items)
        code = self._code_check(text, ops)
        if code:
            checks.append(code)
        patch = self._patch_check(exchange, ops)
        if patch:
            checks.append(patch)
        if final_answer and ("min_output_chars" in self.options or "min_sentences" in self.options):
            checks.append(self._length_check(text))
        findings: list[Finding] = []
        failed_enforced: list[str] = []
        if final_answer:
            for i, a in enumerate(self.assertions):
                res = self._assert(a, text)
                name = a.get("name") or f"{a.get('type')}[{i}]"
                mode = a.get("mode", "enforce")
                if res is None:
                    findings.append(Finding(type="assertion_skipped", action=ALLOW, rule=name,
                                            evidence=f"type {a.get('type')} needs an LLM judge; not run locally"))
                    continue
                if mode == "shadow":
                    continue
                if mode == "audit":
                    if not res:
                        findings.append(Finding(type="assertion_failed_audit", action=ALLOW, rule=name, score=0.0))
                    continue
                checks.append(Check(f"assertion:{name}", 1.0 if res else 0.0, "" if res else "assertion failed",
                                    float(a.get("weight", 1.0))))
                if not res:
                    failed_enforced.append(name)
        for c in checks:
            c.weight = self.weights.get(c.name, c.weight)
        scored = [c for c in checks if c.weight > 0]
        total = sum(c.weight for c in scored)
        score = round(sum(c.score * c.weight for c in scored) / total, 3) if total else 1.0
        below = [c for c in checks if c.name in self.minimums and c.score < self.minimums[c.name]]
        failing = score < self.threshold or bool(failed_enforced) or bool(below)
        for c in checks:
            if c.score < 1.0:
                findings.append(Finding(type=c.name, action=self.on_fail if failing else ALLOW, score=round(c.score, 3),
                                        rule=c.name, evidence=c.detail[:160] or None))
        if not failing:
            return Verdict(self.kind, ALLOW, "all_policies_passed", "", "output", findings, score)
        worst = ", ".join(c.name + (f" ({c.detail[:60]})" if c.detail else "") for c in checks if c.score < 1.0)
        why = f"score {score:.2f} < {self.threshold:.2f}" if score < self.threshold else f"score {score:.2f}"
        if failed_enforced:
            why += "; failed assertions: " + ", ".join(failed_enforced)
        if below:
            why += "; below minimum: " + ", ".join(c.name for c in below)
        word = "Blocked by" if self.on_fail == BLOCK else "Flagged by"
        msg = f"{word} keeptrusts quality-scorer: {why}" + (f" [{worst}]" if worst else "")
        return Verdict(self.kind, self.on_fail, "quality_below_threshold", msg, "output", findings, score)

    # ---- checks ---------------------------------------------------------------------------------
    def _patch_ops(self, exchange: Exchange, tool_items) -> list[FileOp]:
        ops: list[FileOp] = []
        for item in tool_items:
            try:
                for action in extract_actions(item.kind, item.name, item.text, None):
                    ops.extend(action.file_ops)
            except Exception:   # an unparseable tool call is the firewall's business, not a score
                continue
        return ops

    def _code_check(self, text: str, ops: list[FileOp]) -> Check | None:
        blocks = [(LANG[m.group(1).lower()], m.group(2), f"```{m.group(1)} block")
                  for m in FENCE_RE.finditer(text) if m.group(1).lower() in LANG]
        for op in ops:
            lang = next((v for k, v in EXT.items() if op.path.endswith(k)), None)
            if op.op == "add" and lang:
                blocks.append((lang, op.added_text, op.path))
        if not blocks:
            return None
        bad = [where for lang, code, where in blocks if not _parses(lang, code)]
        return Check("code_parses", 1 - len(bad) / len(blocks), ("does not parse: " + ", ".join(bad)) if bad else "")

    def _patch_check(self, exchange: Exchange, ops: list[FileOp]) -> Check | None:
        hunks = [(op.path, h) for op in ops if op.op == "update" for h in op.hunks if h.old]
        if not hunks:
            return None
        seen = _seen_lines(exchange)
        if not seen:
            return None
        judged, bad = 0, []
        for path, h in hunks:
            verdict = _hunk_fits(h.old, seen)
            if verdict is None:
                continue
            judged += 1
            if not verdict:
                bad.append(path)
        if not judged:
            return None
        return Check("patch_applies", 1 - len(bad) / judged,
                     ("hunks do not match the file as shown: " + ", ".join(dict.fromkeys(bad))) if bad else "")

    def _length_check(self, text: str) -> Check:
        parts, score = [], []
        n = self.options.get("min_output_chars")
        if n:
            score.append(min(1.0, len(text.strip()) / n))
            if len(text.strip()) < n:
                parts.append(f"{len(text.strip())} < {n} chars")
        s = self.options.get("min_sentences")
        if s:
            count = len([x for x in re.split(r"(?<=[.!?])\s+", text.strip()) if x.strip()])
            score.append(min(1.0, count / s))
            if count < s:
                parts.append(f"{count} < {s} sentences")
        return Check("length", min(score) if score else 1.0, "; ".join(parts))

    @staticmethod
    def _assert(a: dict, text: str) -> bool | None:
        kind = a.get("type", "")
        if kind not in LOCAL_ASSERTIONS:
            return None
        value = a.get("value")
        cs = a.get("case_sensitive", True) and kind != "icontains"
        hay = text if cs else text.lower()

        def norm(v) -> str:
            return str(v) if cs else str(v).lower()

        if kind in ("contains", "icontains"):
            ok = norm(value) in hay
        elif kind == "contains-any":
            ok = any(norm(v) in hay for v in (value or []))
        elif kind == "contains-all":
            ok = all(norm(v) in hay for v in (value or []))
        elif kind == "equals":
            ok = hay.strip() == norm(value).strip()
        elif kind == "starts-with":
            ok = hay.lstrip().startswith(norm(value))
        elif kind == "regex":
            ok = re.search(str(value), text, 0 if cs else re.I) is not None
        elif kind == "is-json":
            ok = _parses("json", _strip_fence(text))
        elif kind == "is-valid-python":
            ok = _parses("python", _strip_fence(text))
        else:
            ok = _parses("js", _strip_fence(text))
        return (not ok) if a.get("negate") else ok


def _strip_fence(text: str) -> str:
    m = FENCE_RE.search(text)
    return m.group(2) if m else text


def _parses(lang: str, code: str) -> bool:
    try:
        if lang == "python":
            ast.parse(code)
        elif lang == "json":
            json.loads(code)
        else:
            return js_syntax_ok(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    return True


def _seen_lines(exchange: Exchange) -> list[str]:
    """Lines of the tool outputs in this request (what the model was shown), line numbers removed."""
    lines: list[str] = []
    for seg in exchange.segments:
        if seg.kind == TOOL_OUTPUT and seg.text:
            for line in seg.text.splitlines():
                lines.append(LINE_NO_RE.sub("", line, count=1))
    return lines


def _hunk_fits(old: list[str], seen: list[str]) -> bool | None:
    """True: the block is in what was shown; False: the file was shown but differs; None: not shown."""
    want = [x.strip() for x in old]
    stripped = [x.strip() for x in seen]
    first = next((k for k, w in enumerate(want) if w), None)
    if first is None:
        return None
    for i, line in enumerate(stripped):
        if line == want[first] and i - first >= 0 and stripped[i - first:i - first + len(want)] == want:
            return True
    distinctive = [w for w in want if len(w) >= 8]
    present = set(stripped)
    if any(w in present for w in distinctive):
        return False
    return None
