"""What code-sanitation and pii-detector share: recognizers run by the engine, redaction in place,
per-type actions, allow-lists, and the options both accept beyond the reference.

A detection becomes a Finding (type, action, placeholder, span, score; never the value). Redacted
values are replaced with the Redactor's deterministic placeholder (`<SECRET:type:8hex>`), so the
same value reads the same in every turn and the wire layer can restore it in tool calls.
"""
from __future__ import annotations

import fnmatch
import functools
import hashlib
import re
from typing import ClassVar

from ..exchange import TOOL_CALL_ARGS, TOOL_OUTPUT, Exchange
from ..recognizers import CustomPatternRecognizer, Detection, Engine, Recognizer
from ..recognizers.engine import resolve_overlaps
from ..redaction import PLACEHOLDER_RE, Redactor
from ..schema import Choice, ListOf, MapOf, Number
from ..verdicts import BLOCK, FLAG, REDACT, Finding, Verdict
from .base import SegmentScan, SegmentPolicy


class _RegexMeta(type):
    """Schema spec for a string that must compile as a Python regex (config lint reports it located)."""

    def __instancecheck__(cls, value) -> bool:
        if not isinstance(value, str):
            return False
        try:
            re.compile(value)
        except re.error:
            return False
        return True


class Regex(metaclass=_RegexMeta):
    pass


ACTION = Choice("redact", "block", "warn")
_ACTION_VERDICT = {"redact": REDACT, "block": BLOCK, "warn": FLAG}

REDACTION_SCHEMA = {
    "marker_format": Choice("label", "asterisk", "partial"),
    "include_metadata": bool,
    "preserve_length": bool,
    "custom_markers": MapOf(str),
}


def common_schema(type_names: tuple[str, ...]) -> dict:
    """Options both policies accept (ours, beyond the reference)."""
    entity = Choice(*type_names)
    return {
        "entities": ListOf(entity),              # only these types (default: every default-on type)
        "exclude_entities": ListOf(entity),      # every type but these
        "actions": MapOf(ACTION),                # per type: redact | block | warn
        "score_threshold": Number,               # 0..1; candidates scoring lower are ignored
        "allow_list": {
            "values": ListOf(str),               # exact values never redacted
            "sha256": ListOf(str),               # or their sha256 hex, to keep them out of the config
            "patterns": ListOf(Regex),           # regexes a value must fully match to be allowed
            "paths": ListOf(str),                # globs: tool outputs of calls naming these files are not scanned
        },
        "restore": bool,                         # put originals back in tool calls (wire layer), default true
        # Documentation and test values in a real format (AKIA...EXAMPLE, 4242 4242 4242 4242, an address at
        # example.com, a 9xx SSN): masked by default, since a mask costs little and a leak cannot be undone.
        "documentation_values": Choice("mask", "allow"),
        "redaction": REDACTION_SCHEMA,
    }


@functools.lru_cache(maxsize=32)
def _engine(builder: str, custom: tuple[str, ...], custom_type: str, category: str) -> Engine:
    from .. import recognizers

    recs: list[Recognizer] = getattr(recognizers, builder)()
    recs += [CustomPatternRecognizer(custom_type, category, rx, i) for i, rx in enumerate(custom)]
    return Engine(recs)


class RedactingPolicy(SegmentPolicy):
    category: ClassVar[str] = "SECRET"
    recognizer_builder: ClassVar[str] = "secret_recognizers"
    custom_type: ClassVar[str] = "custom_pattern"
    type_aliases: ClassVar[dict[str, str]] = {}
    default_threshold: ClassVar[float] = 0.5

    def __init__(self, options=None, context=None):
        super().__init__(options, context)
        if self.context.redactor is None:
            self.context.redactor = Redactor()
        self.enabled = self.options.get("enabled", True)
        self.engine = _engine(self.recognizer_builder, tuple(self.custom_patterns()), self.custom_type, self.category)
        self.types = self.enabled_types()
        self.threshold = float(self.options.get("score_threshold", self.default_threshold))
        self.actions = {self.canonical(k): v for k, v in (self.options.get("actions") or {}).items()}
        allow = self.options.get("allow_list") or {}
        self.allow_values = set(allow.get("values") or [])
        self.allow_hashes = {h.lower() for h in allow.get("sha256") or []}
        self.allow_patterns = [re.compile(p) for p in allow.get("patterns") or []]
        self.allow_paths = list(allow.get("paths") or [])
        red = self.options.get("redaction") or {}
        self.marker_format = red.get("marker_format", "label")
        self.preserve_length = bool(red.get("preserve_length", False))
        self.include_metadata = bool(red.get("include_metadata", True))
        self.custom_markers = {self.canonical(k): v for k, v in (red.get("custom_markers") or {}).items()}
        self.restore = bool(self.options.get("restore", True))
        self.allow_documentation = self.options.get("documentation_values", "mask") == "allow"

    # --- configuration ---------------------------------------------------------------------------
    def custom_patterns(self) -> list[str]:
        return []

    def default_action(self) -> str:
        return "redact"

    def extra_detections(self, text: str, kind: str) -> list[Detection]:
        """Detections beyond the regex engine (pii-detector's named-entity model)."""
        return []

    def canonical(self, name: str) -> str:
        return self.type_aliases.get(name, self.type_aliases.get(name.upper(), name))

    def enabled_types(self) -> set[str]:
        recs = self.engine.recognizers
        wanted = self.options.get("entities")
        if wanted:
            types = {self.canonical(t) for t in wanted}
        else:
            types = {r.ENTITY for r in recs if r.DEFAULT_ENABLED}
        types |= {r.ENTITY for r in recs if isinstance(r, CustomPatternRecognizer)}
        return types - {self.canonical(t) for t in self.options.get("exclude_entities") or []}

    # --- detection ---------------------------------------------------------------------------------
    def allowed(self, value: str) -> bool:
        if value in self.allow_values:
            return True
        if self.allow_hashes and hashlib.sha256(value.encode()).hexdigest() in self.allow_hashes:
            return True
        return any(p.fullmatch(value) for p in self.allow_patterns)

    def marker(self, type_: str, value: str) -> str:
        if type_ in self.custom_markers:
            return self.custom_markers[type_]
        if self.marker_format == "asterisk":
            return "*" * len(value) if self.preserve_length else "****"
        if self.marker_format == "partial":
            keep = value[-4:] if len(value) > 8 else ""
            return ("*" * (len(value) - len(keep)) if self.preserve_length else "****") + keep
        return self.context.redactor.placeholder(self.category, type_, value)

    def scan(self, text: str, kind: str, segment=None) -> SegmentScan:
        if not self.enabled:
            return SegmentScan([], text)
        detections = self.engine.scan(text, self.threshold, self.types)
        extra = self.extra_detections(text, kind)
        if extra:
            detections = resolve_overlaps(detections + extra)
        if not detections:
            return SegmentScan([], text)
        findings: list[Finding] = []
        parts: list[str] = []
        last = 0
        for d in detections:
            value = text[d.start:d.end]
            if self.allowed(value) or PLACEHOLDER_RE.fullmatch(value) or (d.doc and self.allow_documentation):
                continue
            action = self.actions.get(d.entity, self.default_action())
            verdict = _ACTION_VERDICT[action]
            ph = None
            if verdict == REDACT:
                ph = self.marker(d.entity, value)
                parts.append(text[last:d.start])
                parts.append(ph)
                last = d.end
            meta = self.include_metadata
            findings.append(Finding(type=d.entity, action=verdict, start=d.start, end=d.end,
                                    score=round(d.score, 2) if meta else None, placeholder=ph,
                                    rule=d.rule if meta else None))
        if not parts:
            return SegmentScan(findings, text)
        parts.append(text[last:])
        return SegmentScan(findings, "".join(parts))

    # --- hooks -------------------------------------------------------------------------------------
    def request(self, exchange: Exchange) -> Verdict:
        if not self.enabled:
            return self.allow()
        skipped = self._allowed_calls(exchange) if self.allow_paths else set()
        if not skipped:
            return super().request(exchange)
        kept = exchange.segments
        exchange.segments = [s for s in kept if not (s.kind == TOOL_OUTPUT and s.call_id in skipped)]
        try:
            return super().request(exchange)
        finally:
            exchange.segments = kept

    def output_item(self, exchange, item):
        if not self.enabled:
            return self.allow(phase="output")
        return super().output_item(exchange, item)

    def path_allowed(self, path: str) -> bool:
        return any(fnmatch.fnmatch(path, g) or fnmatch.fnmatch(path.rsplit("/", 1)[-1], g) for g in self.allow_paths)

    def _allowed_calls(self, exchange: Exchange) -> set[str]:
        """Calls whose arguments name an allow-listed file: their outputs are the user's own fixtures."""
        out: set[str] = set()
        for seg in exchange.segments:
            if seg.kind == TOOL_CALL_ARGS and seg.call_id:
                for token in _PATHISH.findall(seg.text):
                    if self.path_allowed(token.lstrip("./")) or self.path_allowed(token):
                        out.add(seg.call_id)
                        break
        return out


_PATHISH = re.compile(r"[\w.~-]*/?[\w.-]+(?:/[\w.-]+)*\.[\w]+|[\w.~-]+(?:/[\w.-]+)+")
