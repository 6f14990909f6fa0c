"""prompt-injection: direct injection in user messages, indirect injection in tool outputs (reference 2.5).

Every segment gets a score in 0..1 from the rule families in `keeptrusts.injection`. What happens
at a score depends on the segment's source:

    source        scanned as   default levels
    user          direct       block >= 0.8, flag >= 0.5
    system        direct       block >= 0.9, flag >= 0.6
    tool_output   indirect     block >= 0.8, neutralize >= 0.45
    other         indirect     flag >= 0.5  (tool definitions, embeddings/completions inputs)

Indirect text is judged more strictly: rules about commands, exfiltration, fake tool boundaries and
text addressed to "the AI" count only there, and a medium score already neutralises it (the text
is fenced and annotated as data, hidden characters removed) while the request goes on.
Assistant messages, reasoning and replayed tool-call arguments are the model's own words: the
agent-firewall judges tool calls.

Options (reference keys first): `threshold` + `action` set the top level for every source;
`response.action` is the same as `action`, `response.message` replaces the block message;
`thresholds.<source>` overrides `threshold` for one source; `actions.<source>.<action>: score`
replaces that source's milder levels. `encoding.*` switch decoding and Unicode folding;
`detection.attack_patterns` adds regexes (weight 0.9, family custom_pattern). `embedding_threshold`
is accepted for compatibility and unused: no embedding model is shipped or downloaded.
"""
from __future__ import annotations

import re

from ..exchange import OTHER, SYSTEM, TOOL_OUTPUT, USER, Exchange
from ..injection import Scanner
from ..injection.locate import describe
from ..injection.neutralize import neutralize
from ..schema import Choice, ListOf, MapOf, Number
from ..verdicts import ALLOW, BLOCK, ESCALATE, FLAG, REDACT, Finding, Verdict
from .base import SegmentPolicy, SegmentScan

REASON = "prompt_injection_detected"
SOURCES = (USER, SYSTEM, TOOL_OUTPUT, OTHER)
DIRECT = frozenset({USER, SYSTEM})

_ACTION_NAMES = ("block", "flag", "warn", "log", "escalate", "neutralize", "neutralise", "allow")
_CANON = {"warn": "flag", "log": "flag", "neutralise": "neutralize"}
_RANK = {"allow": 0, "flag": 1, "neutralize": 2, "escalate": 3, "block": 4}
_VERDICT = {"flag": FLAG, "neutralize": REDACT, "escalate": ESCALATE, "block": BLOCK}

DEFAULT_TOP = {USER: 0.8, SYSTEM: 0.9, TOOL_OUTPUT: 0.8, OTHER: None}
DEFAULT_LOWER = {USER: {"flag": 0.5}, SYSTEM: {"flag": 0.6}, TOOL_OUTPUT: {"neutralize": 0.45}, OTHER: {"flag": 0.5}}
MAX_FINDINGS_PER_SEGMENT = 6

_Action = Choice(*_ACTION_NAMES)
_Sources = {s: Number for s in SOURCES}


class PromptInjection(SegmentPolicy):
    kind = "prompt-injection"
    single_document = True
    reason_code = REASON
    options_schema = {
        "enabled": bool,
        "threshold": Number,
        "embedding_threshold": Number,
        "action": _Action,
        "thresholds": _Sources,
        "actions": {s: {a: Number for a in _ACTION_NAMES if a != "allow"} for s in SOURCES},
        "sources": ListOf(Choice(*SOURCES)),
        "encoding": {"decode_base64": bool, "normalize_unicode": bool, "detect_homoglyphs": bool},
        "detection": {"embedding_threshold": Number, "attack_patterns": ListOf(str)},
        "response": {"action": _Action, "message": str},
    }

    @classmethod
    def check_options(cls, options: dict) -> list[str]:
        """Problems the schema cannot see (invalid regexes), one line each; for a linter to call."""
        problems = []
        for i, p in enumerate(((options or {}).get("detection") or {}).get("attack_patterns") or []):
            try:
                re.compile(p)
            except re.error as exc:
                problems.append(f"prompt-injection: detection.attack_patterns[{i}] is not a valid regex ({exc}); "
                                "fix or remove it")
        return problems

    def __init__(self, options: dict | None = None, context=None):
        super().__init__(options, context)
        o = self.options
        enc = o.get("encoding") or {}
        det = o.get("detection") or {}
        patterns = list(det.get("attack_patterns") or [])
        problems = self.check_options(o)
        if problems:
            raise ValueError(problems[0])
        self.scanner = Scanner(patterns, decode_base64=enc.get("decode_base64", True),
                               normalize_unicode=enc.get("normalize_unicode", True),
                               detect_homoglyphs=enc.get("detect_homoglyphs", True))
        self.enabled = o.get("enabled", True)
        self.sources = frozenset(o.get("sources") or SOURCES)
        self.message = (o.get("response") or {}).get("message")
        self.levels = {s: self._levels(s) for s in SOURCES}

    def _levels(self, source: str) -> dict[str, float]:
        o = self.options
        top_action = o.get("action") or (o.get("response") or {}).get("action") or "block"
        top_action = _CANON.get(top_action, top_action)
        explicit = (o.get("actions") or {}).get(source)
        levels = {_CANON.get(a, a): float(v) for a, v in (explicit if explicit is not None else DEFAULT_LOWER[source]).items()}
        top = (o.get("thresholds") or {}).get(source, o.get("threshold", DEFAULT_TOP[source]))
        if top is not None and top_action != "allow" and not (explicit and top_action in levels):
            levels[top_action] = float(top)
        if source in DIRECT and "neutralize" in levels:  # the user's own words are not rewritten
            levels["flag"] = min(levels.pop("neutralize"), levels.get("flag", 1.0))
        return levels

    def action_for(self, source: str, score: float) -> str:
        hit = [a for a, level in self.levels[source].items() if score >= level]
        return max(hit, key=_RANK.__getitem__, default="allow")

    # -- SegmentPolicy --------------------------------------------------------------------------
    def scan(self, text: str, kind: str, segment=None) -> SegmentScan:
        if kind not in self.sources:
            return SegmentScan([], text)
        report = self.scanner.scan(text, untrusted=kind not in DIRECT)
        action = self.action_for(kind, report.score) if report.hits else "allow"
        if action == "allow":
            return SegmentScan([], text)
        recorded = {"neutralize": REDACT}.get(action, _VERDICT[action])
        # The strongest hit of each family first, so a capped list still names every family.
        firsts = {}
        for h in report.hits:
            firsts.setdefault(h.family, h)
        ordered = list(firsts.values()) + [h for h in report.hits if firsts.get(h.family) is not h]
        findings = [Finding(type=h.family, action=recorded, start=h.start, end=h.end, score=report.score,
                            rule=h.rule, evidence=h.evidence) for h in ordered[:MAX_FINDINGS_PER_SEGMENT]]
        new_text = text
        if action == "neutralize":
            new_text = neutralize(text, report, "tool output" if kind == TOOL_OUTPUT else "text")
        return SegmentScan(findings, new_text)

    def request(self, exchange: Exchange) -> Verdict:
        if not self.enabled:
            return self.allow()
        findings: list[Finding] = []
        worst = "allow"
        first_block: Finding | None = None
        for seg in exchange.segments:
            if not seg.text or seg.kind not in self.sources:
                continue
            res = self.cached_scan(seg.text, seg.kind, seg)
            if not res.findings:
                continue
            extra = describe(seg, exchange)
            where = f"{seg.where} ({extra})" if extra else seg.where
            located = [Finding(**{**f.__dict__, "where": where}) for f in res.findings]
            findings.extend(located)
            action = {REDACT: "neutralize"}.get(res.findings[0].action, res.findings[0].action)
            if _RANK[action] > _RANK[worst]:
                worst = action
            if action == "block" and first_block is None:
                first_block = located[0]
            if res.text != seg.text:
                seg.text = res.text
        if worst == "allow":
            return self.allow()
        message = ""
        if worst == "block":
            f = first_block
            message = self.message or f"Blocked by keeptrusts prompt-injection: {f.type} in {f.where}"
        top = max((f.score or 0.0 for f in findings), default=None)
        return self.verdict(_VERDICT[worst], REASON, message, findings=findings, score=top)

    def output_item(self, exchange, item):  # input phase only (reference 2.5)
        return self.allow(phase="output")


__all__ = ["PromptInjection", "REASON", "ALLOW"]
