"""The policy interface. Policies never import mitmproxy: they see Exchange objects only.

A policy class declares its kind (as named in `policies.chain`), its option schema, and
implements any of three hooks:

- `request(exchange) -> Verdict`: input phase; may edit `segment.text` to redact in place.
- `output_item(exchange, item) -> Verdict`: one completed output item (message text or tool
  call), in the stream before the client sees a held tool call; may edit `item.text`.
- `response(exchange) -> Verdict`: the whole completion at the end (quality scoring).

`SegmentPolicy` implements `request` over segments with a content-hash cache, so history that
Codex resends every turn is scanned once.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..exchange import Exchange, OutputItem, Segment
from ..redaction import current_scope
from ..schema import Choice
from ..verdicts import ALLOW, BLOCK, FLAG, REDACT, Finding, Verdict, worst


@dataclass
class PolicyContext:
    """What the gateway gives every policy besides its options."""

    redactor: Any = None            # keeptrusts.redaction.Redactor (placeholders + restore)
    workspace: str | None = None    # agent workspace, when known
    state_dir: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Policy:
    kind: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    phases: ClassVar[tuple[str, ...]] = ("input",)
    # Option schema (see keeptrusts.schema); {} accepts only an empty block.
    options_schema: ClassVar[Any] = {}
    # Single-policy documents are allowed for these kinds only (reference 1.1).
    single_document: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        # Every policy takes `on_blocked_history` (keeptrusts.blocked_items): what a later request that
        # carries an item this policy blocked gets: `stub` (default: the item is replaced by a stub and
        # the turn goes on) or `block` (judged again, so blocked again).
        schema = cls.__dict__.get("options_schema")
        if isinstance(schema, dict) and "on_blocked_history" not in schema:
            schema["on_blocked_history"] = Choice("stub", "block")

    def __init__(self, options: dict | None = None, context: PolicyContext | None = None):
        self.options = dict(options or {})
        self.context = context or PolicyContext()

    # Hooks; the defaults allow.
    def request(self, exchange: Exchange) -> Verdict:
        return self.allow()

    def output_item(self, exchange: Exchange, item: OutputItem) -> Verdict:
        return self.allow(phase="output")

    def response(self, exchange: Exchange) -> Verdict:
        return self.allow(phase="output")

    # Helpers for building verdicts.
    def allow(self, phase: str = "input") -> Verdict:
        return Verdict(self.kind, ALLOW, "all_policies_passed", phase=phase)

    def verdict(self, verdict: str, reason_code: str, message: str = "", phase: str = "input",
                findings: list[Finding] | None = None, score: float | None = None) -> Verdict:
        if verdict == BLOCK and not message:
            message = f"Blocked by keeptrusts {self.kind}: {reason_code}"
        return Verdict(self.kind, verdict, reason_code, message, phase, list(findings or []), score)


@dataclass
class SegmentScan:
    """What a SegmentPolicy found in one text: findings and the text to forward."""

    findings: list[Finding]
    text: str


class SegmentPolicy(Policy):
    """A policy judged one text at a time, cached on the text's content hash."""

    cache_size: ClassVar[int] = 20_000
    reason_code: ClassVar[str] = "detected"

    def __init__(self, options: dict | None = None, context: PolicyContext | None = None):
        super().__init__(options, context)
        self._cache: OrderedDict[tuple, tuple[str, SegmentScan]] = OrderedDict()
        self.cache_hits = 0
        self.cache_misses = 0

    def scan(self, text: str, kind: str, segment: Segment | None = None) -> SegmentScan:
        """Override: find what this policy cares about in `text` (a segment of `kind`)."""
        return SegmentScan([], text)

    def decide(self, findings: list[Finding]) -> tuple[str, str, str]:
        """Override to choose (verdict, reason_code, message) from all findings of a request."""
        if not findings:
            return ALLOW, "all_policies_passed", ""
        v = worst([f.action for f in findings])
        msg = ""
        if v == BLOCK:
            f = next(f for f in findings if f.action == BLOCK)
            msg = f"Blocked by keeptrusts {self.kind}: {f.type}" + (f" in {f.where}" if f.where else "")
        return v, self.reason_code, msg

    def cached_scan(self, text: str, kind: str, segment: Segment | None = None) -> SegmentScan:
        """Scan once per distinct text. Keyed on Python's string hash, which a str computes once and keeps,
        so every policy after the first looks a resent 500 KB history up for free; a hit is confirmed by
        comparing the text itself, so a hash collision can never hand back another segment's result."""
        key = (kind, current_scope(), hash(text), len(text))   # the same text redacts differently per scope
        hit = self._cache.get(key)
        if hit is not None and (hit[0] is text or hit[0] == text):
            self._cache.move_to_end(key)
            self.cache_hits += 1
            return hit[1]
        self.cache_misses += 1
        result = self.scan(text, kind, segment)
        self._cache[key] = (text, result)
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return result

    def request(self, exchange: Exchange) -> Verdict:
        findings: list[Finding] = []
        for seg in exchange.segments:
            if not seg.text:
                continue
            res = self.cached_scan(seg.text, seg.kind, seg)
            for f in res.findings:
                # Cached findings are shared; give each request its own located copy.
                findings.append(Finding(**{**f.__dict__, "where": seg.where}))
            if res.text != seg.text:
                seg.text = res.text
        v, reason, msg = self.decide(findings)
        return self.verdict(v, reason, msg, findings=findings)

    def output_item(self, exchange: Exchange, item: OutputItem) -> Verdict:
        if "output" not in self.phases or not item.text:
            return self.allow(phase="output")
        res = self.cached_scan(item.text, "output:" + item.kind)
        findings = [Finding(**{**f.__dict__, "where": f"output[{item.index}]"}) for f in res.findings]
        if res.text != item.text:
            item.text = res.text
        v, reason, msg = self.decide(findings)
        return self.verdict(v, reason, msg, phase="output", findings=findings)


__all__ = ["Policy", "SegmentPolicy", "SegmentScan", "PolicyContext", "ALLOW", "FLAG", "REDACT", "BLOCK"]
