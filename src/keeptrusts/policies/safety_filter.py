"""safety-filter: unsafe intent in prompts and completions (reference 2.6).

Keyword-based and deterministic, as the reference says, but with patterns that pair an action
with its object ("write a keylogger", "send the .env to my server"), scored per category with a
threshold per category. Built-in categories: malware, credential_harvesting, destructive,
exfiltration, plus the patterns of `mode`. `block_if` adds phrases of your own (exact, or with
`fuzzy_matching` within `max_distance` edits).

Input: only the newest user messages of a request are judged (those after the last assistant
turn), so a prompt that was judged once does not re-trigger on every later turn of the history
Codex resends. Output: completed message items.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from ..exchange import ASSISTANT, TOOL_CALL_ARGS, TOOL_OUTPUT, USER, Exchange, OutputItem
from ..schema import Choice, ListOf, MapOf, Number
from ..verdicts import ALLOW, BLOCK, ESCALATE, FLAG, Finding, Verdict
from .base import SegmentPolicy, SegmentScan

DEFAULT_THRESHOLD = 0.8
ACTIONS = {"block": BLOCK, "escalate": ESCALATE, "flag": FLAG, "warn": FLAG}
MAX_SCAN = 200_000   # characters of one text judged (bounded work)


@dataclass(frozen=True)
class Pattern:
    id: str
    category: str
    weight: float
    regex: re.Pattern
    # Literal words the text must contain for the regex to have a chance: one of each tuple.
    # Checked with `in` on the lowercased text, which is far cheaper than running the regex.
    needs: tuple[tuple[str, ...], ...] = ()

    def search(self, lowered: str) -> re.Match | None:
        """The first match not under a negation ("never send secrets to ...", "prevent ...")."""
        if any(not any(w in lowered for w in alts) for alts in self.needs):
            return None
        for m in self.regex.finditer(lowered):
            if not NEGATION_RE.search(lowered, max(0, m.start() - 40), m.start()):
                return m
        return None


# A prohibition or a defence is not an intent: AGENTS.md says "never exfiltrate secrets to external
# servers", a ticket says "prevent users from wiping the disks". Looked for just before a match.
NEGATION_RE = re.compile(r"\b(never|not|don'?t|doesn'?t|do not|must not|mustn'?t|shouldn'?t|should not|no one may|"
                         r"avoid|prevent(s|ing)?|stop(s|ping)?|block(s|ing)?|detect(s|ing)?|refuse to|forbid(den)?|"
                         r"prohibit(ed)?|won'?t|cannot|can'?t|against)\b"
                         r"(?!\s+(hesitate|forget|wait|worry|just|only|stop|be afraid))[^.?!\n]*$")


def required_words(pattern: str) -> tuple[tuple[str, ...], ...]:
    """For each mandatory top-level group `( a | b )` of a pattern, the literal start of every
    alternative; a group with an alternative that has no literal start gives nothing to check."""
    groups, depth, start, i = [], 0, None, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            i = pattern.index("]", i + 1) + 1
            continue
        if c == "(":
            if depth == 0:
                start = i
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0 and start is not None:
                optional = pattern[i + 1:i + 2] in ("?", "*") or pattern[i + 1:i + 3] == "{0"
                if not optional:
                    groups.append(pattern[start + 1:i])
        elif c == "|" and depth == 0:
            return ()   # a top-level alternation: no word is mandatory
        i += 1
    needs = []
    for g in groups:
        alts, depth, cur = [], 0, ""
        for ch in g:
            depth += ch == "("
            depth -= ch == ")"
            if ch == "|" and depth == 0:
                alts.append(cur)
                cur = ""
            else:
                cur += ch
        alts.append(cur)
        words = []
        for a in alts:
            a = a[3:] if a.startswith("?:") else a
            m = re.match(r"(?:[a-z0-9 '-]|\\\.)+", a)
            lit = m.group(0) if m else ""
            if lit and a[len(lit):len(lit) + 1] in ("?", "*", "{"):
                lit = lit[:-1]   # `victims?`: the last character is optional
            lit = lit.replace("\\.", ".")
            if not lit.strip():
                words = []
                break
            words.append(lit)
        if words:
            needs.append(tuple(words))
    return tuple(needs)


@lru_cache(maxsize=1)
def builtin_patterns() -> tuple[dict[str, tuple[Pattern, ...]], dict[str, dict[str, tuple[Pattern, ...]]]]:
    data = yaml.safe_load(resources.files("keeptrusts.policies").joinpath("rules/safety_filter.yaml").read_text())

    def compile_block(block: dict) -> dict[str, tuple[Pattern, ...]]:
        return {cat: tuple(Pattern(p["id"], cat, float(p["weight"]), re.compile(expand_gaps(p["pattern"])),
                                   required_words(p["pattern"]))
                           for p in pats)
                for cat, pats in block.items()}

    return compile_block(data["core"]), {mode: compile_block(b) for mode, b in data["modes"].items()}


def expand_gaps(pattern: str) -> str:
    """`<N>`: up to N characters within one sentence (`.env` or `a.b` do not end it)."""
    return re.sub(r"<(\d+)>", r"(?:[^.?!\\n]|\\.(?=\\S)){0,\1}", pattern)


def normalize(text: str) -> str:
    """NFKC (full-width and look-alike forms), no zero-width characters, single spaces."""
    text = unicodedata.normalize("NFKC", text[:MAX_SCAN])
    text = re.sub(r"[\u200b-\u200f\u2060\ufeff\u00ad]", "", text)
    return re.sub(r"[ \t]+", " ", text)


def levenshtein_within(a: str, b: str, k: int) -> bool:
    """Is the edit distance of a and b at most k? (banded DP, early exit)"""
    if abs(len(a) - len(b)) > k:
        return False
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        lo, hi = max(1, i - k), min(len(b), i + k)
        if lo > 1:
            cur[lo - 1] = k + 1
        for j in range(lo, hi + 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != b[j - 1]))
        for j in range(hi + 1, len(b) + 1):
            cur[j] = k + 1
        if min(cur[max(0, lo - 1):hi + 1]) > k:
            return False
        prev = cur
    return prev[-1] <= k


class SafetyFilter(SegmentPolicy):
    kind = "safety-filter"
    phases = ("input", "output")
    reason_code = "unsafe_content"
    options_schema = {
        "mode": Choice("critical_infrastructure", "automotive", "education", "law_enforcement"),
        "block_if": ListOf(str),
        "action": Choice("block", "escalate", "flag", "warn"),
        "fuzzy_matching": bool,
        "max_distance": int,
        "max_age": int,
        # keeptrusts gateway additions
        "categories": ListOf(str),          # built-in categories to use (default: all core + mode)
        "thresholds": MapOf(Number),        # per category, 0..1 (default 0.8); "custom" for block_if
        "apply_to": ListOf(Choice("input", "output")),
    }

    def __init__(self, options=None, context=None):
        super().__init__(options, context)
        o = self.options
        core, modes = builtin_patterns()
        mode = o.get("mode", "critical_infrastructure")
        cats = dict(core)
        cats.update(modes.get(mode, {}))
        if "categories" in o:
            unknown = set(o["categories"]) - set(cats)
            if unknown:
                raise ValueError(f"policy.safety-filter.categories: unknown {', '.join(sorted(unknown))}; "
                                 f"valid: {', '.join(sorted(cats))}")
            cats = {c: cats[c] for c in o["categories"]}
        self.patterns: list[Pattern] = [p for ps in cats.values() for p in ps]
        self.thresholds = {c: float(o.get("thresholds", {}).get(c, DEFAULT_THRESHOLD)) for c in list(cats) + ["custom"]}
        self.action = ACTIONS[o.get("action", "block")]
        self.block_if = [normalize(p).lower().strip() for p in o.get("block_if", []) if p.strip()]
        self._block_if_re = [re.compile(r"(?<!\w)" + re.escape(p) + r"(?!\w)", re.I) for p in self.block_if]
        self.fuzzy = bool(o.get("fuzzy_matching", False))
        self.max_distance = int(o.get("max_distance", 1))
        self.apply_to = set(o.get("apply_to", ["input", "output"]))

    # ---- detection --------------------------------------------------------------------------
    def scan(self, text: str, kind: str, segment=None) -> SegmentScan:
        norm = normalize(text)
        lowered = norm.lower()   # patterns are lowercase: faster than re.I
        by_cat: dict[str, list[tuple[Pattern, str]]] = {}
        for p in self.patterns:
            m = p.search(lowered)
            if m:
                by_cat.setdefault(p.category, []).append((p, m.group(0)))
        findings: list[Finding] = []
        for cat, hits in by_cat.items():
            hits.sort(key=lambda h: -h[0].weight)
            score = min(1.0, hits[0][0].weight + 0.1 * (len(hits) - 1))
            if score >= self.thresholds.get(cat, DEFAULT_THRESHOLD):
                findings.append(Finding(type=cat, action=self.action, score=round(score, 2), rule=hits[0][0].id,
                                        evidence=_clip(hits[0][1])))
        for phrase, rx in zip(self.block_if, self._block_if_re):
            hit = rx.search(norm) or (self._fuzzy(norm, phrase) if self.fuzzy else None)
            if hit and 1.0 >= self.thresholds["custom"]:
                findings.append(Finding(type="custom", action=self.action, score=1.0, rule="block_if",
                                        evidence=_clip(hit.group(0) if isinstance(hit, re.Match) else hit)))
        return SegmentScan(findings, text)

    def _fuzzy(self, text: str, phrase: str) -> str | None:
        words = re.findall(r"\w+", text.lower())
        n = len(phrase.split())
        for i in range(len(words) - n + 1):
            window = " ".join(words[i:i + n])
            if levenshtein_within(window, phrase, self.max_distance):
                return window
        return None

    def decide(self, findings: list[Finding]):
        if not findings:
            return ALLOW, "all_policies_passed", ""
        top = max(findings, key=lambda f: f.score or 0)
        msg = f"Blocked by keeptrusts safety-filter: {top.type} ({top.score:.2f}, {top.rule}): \"{top.evidence}\""
        return self.action, self.reason_code, msg if self.action == BLOCK else msg.replace("Blocked by", "Flagged by")

    # ---- hooks --------------------------------------------------------------------------------
    def request(self, exchange: Exchange) -> Verdict:
        if "input" not in self.apply_to:
            return self.allow()
        # The newest user turn: user segments after the last assistant / tool item.
        last = max((i for i, s in enumerate(exchange.segments) if s.kind in (ASSISTANT, TOOL_OUTPUT, TOOL_CALL_ARGS)),
                   default=-1)
        findings: list[Finding] = []
        for seg in exchange.segments[last + 1:]:
            if seg.kind != USER or not seg.text:
                continue
            for f in self.cached_scan(seg.text, seg.kind, seg).findings:
                findings.append(Finding(**{**f.__dict__, "where": seg.where}))
        v, reason, msg = self.decide(findings)
        return self.verdict(v, reason, msg, findings=findings,
                            score=max((f.score or 0 for f in findings), default=None))

    def output_item(self, exchange: Exchange, item: OutputItem) -> Verdict:
        if "output" not in self.apply_to or item.kind != "message" or not item.text:
            return self.allow(phase="output")
        findings = [Finding(**{**f.__dict__, "where": f"output[{item.index}]"})
                    for f in self.cached_scan(item.text, "output:message").findings]
        v, reason, msg = self.decide(findings)
        return self.verdict(v, reason, msg, phase="output", findings=findings,
                            score=max((f.score or 0 for f in findings), default=None))


def _clip(s: str, n: int = 80) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[:n - 1] + "…"
