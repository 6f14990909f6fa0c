"""The recognizer shape: a presidio PatternRecognizer whose patterns, context and validator are data.

A recognizer file declares, as class attributes:
- ENTITY: the stable type name (`github_token`, `EMAIL_ADDRESS`); CATEGORY: "SECRET" or "PII".
- PATTERNS: [(name, regex, score)]; the regex may name a group `v`, the value to redact
  (default: the whole match), so `password = "..."` redacts only the literal.
- PREFILTER: regexes for the multi-pattern engine (hyperscan); a line is validated only when
  one of them hits. Default: the PATTERNS themselves. Keep them cheap and selective.
- CONTEXT: words that raise the score when they precede the match on its line.
- validate(value, match, line): True (sure: score 1.0), False (drop), None (keep the pattern score),
  a float (that score), or DOC: a documentation or test value in the type's exact format (AWS's
  `...EXAMPLE` key, the 4242 card, an address at example.com). DOC values are masked unless a pack
  sets `documentation_values: allow`: a mask is restored in tool calls, a leak cannot be undone.
"""
from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern, PatternRecognizer, RecognizerResult

CONTEXT_BOOST = 0.35      # presidio's default context similarity factor
CONTEXT_CHARS = 120       # how far back on the line context words count
DOC = "documentation"     # validate() verdict: a well-known documentation / test value


class Recognizer(PatternRecognizer):
    # Class names must differ from presidio's predefined ones: its registry finds classes by name
    # among all subclasses, ours included.
    ENTITY: ClassVar[str] = ""
    CATEGORY: ClassVar[str] = "SECRET"
    PATTERNS: ClassVar[list[tuple[str, str, float]]] = []
    PREFILTER: ClassVar[list[str] | None] = None
    PREFILTER_CASELESS: ClassVar[bool] = False
    # Optional: for each PREFILTER, the PATTERNS names it guards (default: all of them).
    PREFILTER_FOR: ClassVar[list[tuple[str, ...]] | None] = None
    FLAGS: ClassVar[int] = 0
    CONTEXT: ClassVar[list[str]] = []
    # For values that span lines (PEM keys): how many characters after the hit's line to read.
    WINDOW_AFTER: ClassVar[int] = 0
    # Off unless the user enables it (e.g. healthcare_mode ids).
    DEFAULT_ENABLED: ClassVar[bool] = True

    def __init__(self) -> None:
        super().__init__(
            supported_entity=self.ENTITY,
            name=type(self).__name__,
            patterns=[Pattern(n, rx, s) for n, rx, s in self.PATTERNS],
            context=list(self.CONTEXT),
        )
        self.compiled = [(n, re.compile(rx, self.FLAGS), s) for n, rx, s in self.PATTERNS]
        self.context_words = tuple(w.lower() for w in self.CONTEXT)

    @property
    def prefilters(self) -> list[str]:
        return list(self.PREFILTER) if self.PREFILTER is not None else [rx for _, rx, _ in self.PATTERNS]

    def value_span(self, m: re.Match) -> tuple[int, int]:
        """The part of a match to redact: the group named `v` when it matched, else all of it."""
        if "v" in m.re.groupindex and m.group("v") is not None:
            return m.span("v")
        return m.span()

    def validate(self, value: str, match: re.Match, line: str) -> bool | float | None:
        return None

    def has_context(self, line: str, start: int) -> bool:
        if not self.context_words:
            return False
        before = line[max(0, start - CONTEXT_CHARS):start].lower()
        return any(w in before for w in self.context_words)

    def patterns_for(self, prefilter_index: int) -> frozenset[str] | None:
        return frozenset(self.PREFILTER_FOR[prefilter_index]) if self.PREFILTER_FOR else None

    def find(self, window: str, offset: int = 0, only: frozenset[str] | None = None) -> list[RecognizerResult]:
        """Matches in `window` (usually one line), with offsets shifted by `offset`; `only`: pattern names."""
        out: list[RecognizerResult] = []
        for name, rx, score in self.compiled:
            if only is not None and name not in only:
                continue
            for m in rx.finditer(window):
                s, e = self.value_span(m)
                if s == e:
                    continue
                verdict = self.validate(window[s:e], m, window)
                if verdict is False:
                    continue
                sc = 1.0 if verdict is True else (float(verdict) if isinstance(verdict, float) else score)
                if sc < 1.0 and self.has_context(window, s):
                    sc = min(1.0, sc + CONTEXT_BOOST)
                out.append(RecognizerResult(self.ENTITY, offset + s, offset + e, sc, recognition_metadata={
                    "recognizer_name": self.name, "pattern": name, "category": self.CATEGORY,
                    "doc": verdict == DOC}))
        return out

    # presidio's interface, so these recognizers also work in a presidio AnalyzerEngine.
    def analyze(self, text, entities, nlp_artifacts=None, regex_flags=None):
        if entities and self.ENTITY not in entities:
            return []
        return self.find(text)


class CustomPatternRecognizer(Recognizer):
    """A user's regex from the config (`additional_patterns`, `detect_patterns`)."""

    def __init__(self, entity: str, category: str, regex: str, index: int) -> None:
        self.ENTITY = entity
        self.CATEGORY = category
        self.PATTERNS = [(f"custom_{index}", regex, 0.9)]
        try:
            re.compile(regex)
        except re.error as exc:
            raise ValueError(f"invalid regex {regex!r}: {exc}") from exc
        super().__init__()
        self.name = f"custom_pattern_{index}"
