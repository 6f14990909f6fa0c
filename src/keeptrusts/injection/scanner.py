"""Scores one text for prompt injection.

1. One engine pass over the text finds every rule match (scoring rules and decoder candidates).
2. Decoder candidates (base64, hex, percent, rot13) are decoded and scanned again.
3. Non-ASCII text is scanned again with invisible characters stripped, tag text revealed, and
   look-alike letters folded; what only appears then counts as hidden text or homoglyphs.
4. In untrusted text, a match inside an HTML comment or a CSS-hidden element adds a hidden-text
   finding; a quoted mention ("ignore previous instructions", as docs cite it) weighs half.
5. The score is the noisy-or of the strongest match of each rule: 1 - prod(1 - weight).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from . import context, decoders, normalize
from .engine import Engine, Match
from .families import ALL_RULES
from .rule import ANY, DECODER, MARKER, UNTRUSTED, Rule

MAX_DEPTH = 2            # decoded text may itself be encoded once more
MAX_DECODES = 24         # candidates decoded per text
ROT13_WINDOW = 600
ENCODED_BONUS = 0.1      # hiding an instruction in an encoding is itself a signal
# Decoded prose that talks to someone ("you must", "delete", "ignore") is an instruction in hiding
# even when no rule names it.
_IMPERATIVE = re.compile(r"\b(?:you|your|must|should|ignore|disregard|forget|delete|remove|run|execute|send|upload|print"
                         r"|reveal|do\s+not|don't|always|never|please|immediately|instead|tell|nobody|no\s+one|secretly"
                         r"|quietly|silently|password|secrets?|tokens?|credentials)\b", re.IGNORECASE)

_FAMILY_ORDER = ("instruction_override", "role_marker", "embedded_command", "exfiltration",
                 "hidden_text", "encoded_payload", "homoglyph", "custom_pattern")


@dataclass
class Hit:
    rule: str          # rule id, e.g. "instruction_override.ignore_previous"
    family: str        # the family reported (encoded/hidden/homoglyph when that is how it was hidden)
    weight: float
    evidence: str      # short, printable, never more than 80 characters
    start: int | None = None
    end: int | None = None
    via: str = ""      # "", "base64", "hex", "rot13", "unicode_tags", "zero_width", "homoglyph", ...


@dataclass
class Report:
    score: float = 0.0
    hits: list[Hit] = field(default_factory=list)

    @property
    def family(self) -> str | None:
        if not self.hits:
            return None
        top = max(self.hits, key=lambda h: (h.weight, -_FAMILY_ORDER.index(h.family) if h.family in _FAMILY_ORDER else -99))
        return top.family

    @property
    def families(self) -> list[str]:
        return sorted({h.family for h in self.hits}, key=lambda f: _FAMILY_ORDER.index(f) if f in _FAMILY_ORDER else 99)

    @property
    def hidden(self) -> bool:
        return any(h.family == "hidden_text" for h in self.hits)


_WS = re.compile(r"\s+")
QUOTE_DISCOUNT = 0.4      # a cited quote ("such as '...'", a code literal) weighs this much of a bare occurrence
QUOTED_DISCOUNT = 0.7     # any other short quote: an attacker may quote an instruction, so it still counts
_QUOTABLE = frozenset({"instruction_override", "role_marker", "embedded_command", "exfiltration", "encoded_payload",
                       "custom_pattern"})
CLUSTER_BONUS = 0.05      # each extra rule on the same span adds this much, not a full noisy-or
_UNESCAPE = (("\\n", " \n"), ("\\t", " \t"), ("\\r", " \r"), ('\\"', '" '))


def json_view(text: str) -> str:
    """JSON-escaped text (`gh issue view --json`, API bodies) read with real newlines and quotes.

    Same length as the text, so offsets stay valid; "\\nIgnore" must not hide a word boundary.
    """
    if "\\" not in text:
        return text
    for a, b in _UNESCAPE:
        text = text.replace(a, b)
    return text


def combine(hits: list["Hit"]) -> float:
    """Noisy-or over spans: rules that fire on the same span add a little, separate spans combine."""
    spans: list[list] = []  # [start, end, max_weight, count]
    loose = []
    # Quoted mentions (a test full of attack strings, docs citing them) count once, by the strongest.
    quoted = max((h.weight for h in hits if h.via in ("quoted", "mention")), default=0.0)
    if quoted:
        loose.append(quoted)
    for h in sorted(hits, key=lambda h: (h.start if h.start is not None else -1)):
        if h.via in ("quoted", "mention"):
            continue
        if h.start is None:
            loose.append(h.weight)
            continue
        if spans and h.start < spans[-1][1]:
            c = spans[-1]
            c[1] = max(c[1], h.end)
            c[2] = max(c[2], h.weight)
            c[3] += 1
        else:
            spans.append([h.start, h.end, h.weight, 1])
    weights = [min(0.95, w + CLUSTER_BONUS * (n - 1)) for _, _, w, n in spans] + loose
    miss = 1.0
    for w in weights:
        miss *= 1.0 - min(max(w, 0.0), 0.99)
    return round(1.0 - miss, 4)


def evidence(text: str, limit: int = 80) -> str:
    """Printable, one-line, short: invisible characters shown as \\uXXXX."""
    out = []
    for ch in _WS.sub(" ", text).strip():
        if ch.isprintable() and not ("\U000E0000" <= ch <= "\U000E007F"):
            out.append(ch)
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
        if len(out) >= limit:
            out.append("…")
            break
    return "".join(out)


def custom_rules(patterns: tuple[str, ...]) -> list[Rule]:
    return [Rule(f"custom_pattern.{i}", "custom_pattern", p, 0.9, ANY) for i, p in enumerate(patterns)]


@lru_cache(maxsize=16)
def _engine(extra: tuple[str, ...], use_hyperscan: bool) -> Engine:
    # Compiling the database takes a moment; every policy instance with the same patterns shares one.
    return Engine(ALL_RULES + custom_rules(extra), use_hyperscan)


class Scanner:
    def __init__(self, attack_patterns: list[str] | tuple[str, ...] = (), decode_base64: bool = True,
                 normalize_unicode: bool = True, detect_homoglyphs: bool = True, use_hyperscan: bool = True):
        for p in attack_patterns:
            re.compile(p)  # a bad pattern is a config error, raised where the policy is built
        self.engine = _engine(tuple(attack_patterns), use_hyperscan)
        self.decode_encoded = decode_base64
        self.normalize_unicode = normalize_unicode
        self.detect_homoglyphs = detect_homoglyphs

    def scan(self, text: str, untrusted: bool) -> Report:
        hits = self._scan(json_view(text), untrusted, 0)
        best: dict[str, Hit] = {}
        for h in hits:
            if h.rule not in best or h.weight > best[h.rule].weight:
                best[h.rule] = h
        keep = sorted(best.values(), key=lambda h: -h.weight)
        return Report(combine(keep), keep)

    # -- internals ---------------------------------------------------------------------------
    def _applies(self, rule: Rule, untrusted: bool) -> bool:
        return rule.scope == ANY or (rule.scope == UNTRUSTED and untrusted)

    def _scan(self, text: str, untrusted: bool, depth: int) -> list[Hit]:
        matches = self.engine.matches(text)
        hits: list[Hit] = []
        markers: set[str] = set()
        decodes = 0
        for m in matches:
            rule = m.rule
            if rule.scope == MARKER:
                markers.add(rule.id)
                continue
            if rule.scope == DECODER:
                if depth >= MAX_DEPTH or decodes >= MAX_DECODES:
                    continue
                decodes += 1
                hits.extend(self._decoded(rule, m, text, untrusted, depth))
                continue
            if not self._applies(rule, untrusted):
                continue
            w = rule.weight
            via = ""
            quoted = context.quoted_mention(text, m.start, m.end) if rule.quotable and rule.family in _QUOTABLE else 0
            if quoted == context.CITED:
                w *= QUOTE_DISCOUNT
                via = "quoted"
            elif quoted == context.QUOTED:
                w *= QUOTED_DISCOUNT
            if rule.solo and not via:
                via = "mention"
            hits.append(Hit(rule.id, rule.family, w, evidence(m.text), m.start, m.end, via))
            if untrusted and depth == 0:
                hits.extend(self._hidden_context(text, m))
        if depth == 0 and markers:
            hits.extend(self._unicode(text, untrusted, {h.rule for h in hits}, markers))
        return hits

    def _decoded(self, rule: Rule, m: Match, text: str, untrusted: bool, depth: int) -> list[Hit]:
        kind = rule.id.split(".", 1)[1]
        if kind == "rot13":
            lo = max(0, m.start - ROT13_WINDOW)
            decoded = decoders.rot13(text[lo:m.end + ROT13_WINDOW])
        else:
            if not self.decode_encoded:
                return []
            decoded = decoders.decode(kind, m.text)
        if not decoded:
            return []
        out = []
        if kind != "rot13" and len(set(m.group(0).lower() for m in _IMPERATIVE.finditer(decoded))) >= 2:
            out.append(Hit("encoded_payload.decoded_instruction", "encoded_payload", 0.5,
                           evidence(f"{kind}: {decoded}"), m.start, m.end, via=kind))
        for h in self._scan(decoded, untrusted, depth + 1):
            if h.family == "encoded_payload" and h.via:
                out.append(h)  # already attributed to a deeper decoding
                continue
            out.append(Hit(h.rule, "encoded_payload", min(0.95, h.weight + ENCODED_BONUS),
                           evidence(f"{kind}: {h.evidence}"), m.start, m.end, via=kind))
        return out

    def _hidden_context(self, text: str, m: Match) -> list[Hit]:
        if m.rule.family == "hidden_text":
            return []
        if "<!--" in text and context.in_html_comment(text, m.start):
            return [Hit("hidden_text.html_comment", "hidden_text", 0.5, evidence("<!-- " + m.text), m.start, m.end, "html_comment")]
        if "<" in text and context.in_hidden_element(text, m.start):
            return [Hit("hidden_text.css_hidden", "hidden_text", 0.5, evidence("hidden element: " + m.text), m.start, m.end, "css_hidden")]
        return []

    def _unicode(self, text: str, untrusted: bool, seen: set[str], markers: set[str]) -> list[Hit]:
        out: list[Hit] = []
        found = set(seen)

        def rescan(variant: str, family: str, via: str, bonus: float) -> None:
            for h in self._scan(variant, untrusted, MAX_DEPTH):  # depth MAX: no decoding, no recursion
                if h.rule in found or h.family == "hidden_text":
                    continue
                found.add(h.rule)
                out.append(Hit(h.rule, family, min(0.95, h.weight + bonus), evidence(f"{via}: {h.evidence}"), via=via))

        if self.normalize_unicode and "hidden_text.invisible_present" in markers:
            for hidden in normalize.decode_tags(text):
                rescan(hidden, "hidden_text", "unicode_tags", 0.15)
            stripped = normalize.strip_invisible(text)
            if stripped != text:
                rescan(stripped, "hidden_text", "invisible_chars", ENCODED_BONUS)
        else:
            stripped = text
        if (self.detect_homoglyphs and markers & {"homoglyph.mixed_script_word", "homoglyph.small_caps"}) or (
                self.normalize_unicode and "homoglyph.compatibility_forms" in markers):
            skel = normalize.skeleton(stripped, fold_homoglyphs=self.detect_homoglyphs)
            if skel != stripped:
                rescan(skel, "homoglyph", "homoglyph", ENCODED_BONUS)
        return out
