"""Multi-pattern matching: every rule in one Hyperscan database, confirmed by Python `re`.

Hyperscan scans the UTF-8 bytes once for all rules at memory speed and reports (rule, end
offset); on benign text it reports almost nothing. Each report is confirmed with the rule's
Python regex on a short window ending there, which gives the span and the evidence. Without
Hyperscan (a platform with no wheel) every rule runs with `re.finditer`: same results, slower.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from .rule import MARKER, Rule

log = logging.getLogger("keeptrusts.injection")

try:  # optional fast path
    import hyperscan  # type: ignore
except Exception:  # pragma: no cover - depends on the platform
    hyperscan = None

WINDOW = 1024          # longest span a scoring rule can match, in characters
RUN_WINDOW = 16384     # longest decoder run we decode (bigger blobs are images and archives)
MAX_PER_RULE = 8       # confirmed matches kept per rule and text
MAX_ATTEMPTS = 64      # confirmations tried per rule and text: a page of repeated anchor words stays cheap


@dataclass
class Match:
    rule: Rule
    start: int
    end: int
    text: str


def _cache_dir() -> Path:
    base = os.environ.get("KEEPTRUSTS_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "keeptrusts")
    return Path(base)


def _py_flags(rule: Rule) -> int:
    return (0 if rule.case_sensitive else re.IGNORECASE) | re.MULTILINE


class Engine:
    def __init__(self, rules: list[Rule], use_hyperscan: bool = True):
        self.rules = list(rules)
        self.py = [re.compile(r.pattern, _py_flags(r)) for r in self.rules]
        self.run_rx = [re.compile(f"[{r.run_chars}]+") if r.run_chars else None for r in self.rules]
        self.db = None
        self._local = threading.local()  # Hyperscan scratch space is per thread
        if use_hyperscan and hyperscan is not None:
            try:
                self.db = self._compile()
            except Exception as exc:  # a pattern Hyperscan rejects: stay correct on the slow path
                log.warning("hyperscan compile failed (%s); using python re", exc)
                self.db = None

    @property
    def name(self) -> str:
        return "hyperscan" if self.db is not None else "re"

    def _compile(self):
        exprs, ids, flags = [], [], []
        for i, r in enumerate(self.rules):
            pat = r.anchor or r.pattern
            if r.run_chars:  # report a run once, at the character after it
                pat = f"(?:{pat})(?:[^{r.run_chars}]|$)"
            f = hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_MULTILINE | hyperscan.HS_FLAG_ALLOWEMPTY
            if not r.case_sensitive:
                f |= hyperscan.HS_FLAG_CASELESS
            if r.scope == MARKER:
                f |= hyperscan.HS_FLAG_SINGLEMATCH
            if not pat.isascii():
                # Caseless non-ASCII letters need UCP, which has no \b: drop it here (a superset);
                # the Python confirmation keeps the word boundaries.
                f |= hyperscan.HS_FLAG_UCP
                pat = pat.replace(r"\b", "")
            exprs.append(pat.encode("utf-8"))
            ids.append(i)
            flags.append(f)
        key = hashlib.sha256(repr((getattr(hyperscan, "__version__", ""), exprs, flags)).encode()).hexdigest()[:24]
        cached = _cache_dir() / f"injection-{key}.hsdb"
        try:
            return hyperscan.loadb(cached.read_bytes(), mode=hyperscan.HS_MODE_BLOCK)
        except Exception:
            pass
        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        db.compile(expressions=exprs, ids=ids, elements=len(exprs), flags=flags)
        try:  # compiling takes seconds; the serialised database loads in milliseconds next time
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(hyperscan.dumpb(db))
            tmp.replace(cached)
        except OSError:
            pass
        return db

    def matches(self, text: str) -> list[Match]:
        if not text:
            return []
        if self.db is None:
            return self._matches_re(text)
        return self._matches_hs(text)

    def _matches_re(self, text: str) -> list[Match]:
        out = []
        for rule, rx in zip(self.rules, self.py):
            if rule.scope == MARKER:
                m = rx.search(text)
                if m:
                    out.append(Match(rule, m.start(), m.end(), ""))
                continue
            n = 0
            for m in rx.finditer(text):
                out.append(Match(rule, m.start(), m.end(), m.group(0)))
                n += 1
                if n >= MAX_PER_RULE:
                    break
        return out

    def _matches_hs(self, text: str) -> list[Match]:
        ascii_ = text.isascii()
        data = text.encode("utf-8", "surrogatepass") if not ascii_ else text.encode("ascii")
        hits: list[tuple[int, int]] = []

        def on_match(rid, start, end, flags, ctx):
            hits.append((rid, end))

        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self.db)
        self.db.scan(data, match_event_handler=on_match, scratch=scratch)
        if not hits:
            return []
        out: list[Match] = []
        seen: set[tuple[int, int]] = set()   # (rule, start): one match per place
        count: dict[int, int] = {}
        attempts: dict[int, int] = {}
        for rid, bend in hits:
            if count.get(rid, 0) >= MAX_PER_RULE or attempts.get(rid, 0) >= MAX_ATTEMPTS:
                continue
            attempts[rid] = attempts.get(rid, 0) + 1
            if self.rules[rid].scope == MARKER:
                out.append(Match(self.rules[rid], 0, 0, ""))
                continue
            # Offsets: bytes equal characters for ASCII; otherwise map through the decoded prefix.
            end = bend if ascii_ else len(data[:bend].decode("utf-8", "ignore"))
            for m in self._confirm(rid, text, end):
                if (rid, m.start) in seen or count.get(rid, 0) >= MAX_PER_RULE:
                    continue
                seen.add((rid, m.start))
                count[rid] = count.get(rid, 0) + 1
                out.append(m)
        return out

    def _confirm(self, rid: int, text: str, end: int) -> list[Match]:
        rule, rx = self.rules[rid], self.py[rid]
        if rule.run_chars:
            # The report ends one character after the run (or at the end of the text).
            stop = end if end and self.run_rx[rid].fullmatch(text[end - 1]) else end - 1
            for width in (256, RUN_WINDOW + 2):
                lo = max(0, stop - width)
                r = self.run_rx[rid].match(text[lo:stop][::-1])  # the run, read backwards from its end
                if r is None:
                    return []
                if r.end() < stop - lo or lo == 0:
                    start = stop - r.end()
                    if stop - start > RUN_WINDOW:
                        return []
                    m = rx.search(text, start, stop)
                    return [Match(rule, m.start(), m.end(), m.group(0))] if m else []
            return []
        # A full pattern ends where it was reported; an anchor may sit anywhere inside the match.
        w = rule.window or WINDOW
        lo = max(0, end - w)
        hi = min(len(text), end + w) if rule.anchor else end
        return [Match(rule, m.start(), m.end(), m.group(0)) for m in rx.finditer(text, lo, hi)
                if m.end() >= end - (w if rule.anchor else 0)]
