"""Runs recognizers over a text: one multi-pattern pass finds candidate lines, recognizers validate them.

Hyperscan scans every recognizer's PREFILTER at once (tens of MB/s on one core); only the lines
where a prefilter hit are handed to the recognizers' Python regexes and validators. Where
hyperscan is missing (or rejects a user's regex) the same prefilters run through Python `re`.
Overlapping results are resolved like presidio does: the higher score wins, then the longer span.
"""
from __future__ import annotations

import bisect
import logging
import re
import threading
from dataclasses import dataclass

from .base import Recognizer

log = logging.getLogger("keeptrusts.recognizers")

try:  # hyperscan ships manylinux wheels; keep a pure-Python path for other platforms.
    import hyperscan
except ImportError:  # pragma: no cover - exercised only where the wheel is missing
    hyperscan = None

MAX_LINE_WINDOW = 2048   # on a minified line, read this much on each side of a hit


@dataclass(frozen=True)
class Detection:
    entity: str        # stable type name
    category: str      # SECRET or PII
    start: int
    end: int
    score: float
    rule: str          # recognizer that matched


class Engine:
    def __init__(self, recognizers: list[Recognizer]):
        self.recognizers = list(recognizers)
        self._owner: list[int] = []           # prefilter id -> recognizer index
        exprs: list[bytes] = []
        flags: list[int] = []
        for i, rec in enumerate(self.recognizers):
            for rx in rec.prefilters:
                exprs.append(rx.encode())
                flags.append(hyperscan.HS_FLAG_CASELESS if hyperscan and rec.PREFILTER_CASELESS else 0)
                self._owner.append(i)
        self._slow: list[re.Pattern] = []     # prefilters hyperscan could not take, run with `re`
        self._slow_owner: list[int] = []
        self._db = None
        self._local = threading.local()
        if hyperscan is not None and exprs:
            self._db, accepted = self._compile(exprs, flags)
            for j in set(range(len(exprs))) - accepted:
                self._add_slow(exprs[j].decode(), self._owner[j])
        else:
            for j, rx in enumerate(exprs):
                self._add_slow(rx.decode(), self._owner[j])

    def _add_slow(self, rx: str, owner: int) -> None:
        caseless = self.recognizers[owner].PREFILTER_CASELESS
        self._slow.append(re.compile(rx, re.I if caseless else 0))
        self._slow_owner.append(owner)

    def _compile(self, exprs: list[bytes], flags: list[int]):
        """Compile all prefilters; a pattern hyperscan rejects is retried in prefilter mode, then left to `re`."""
        accepted: set[int] = set()
        ids, ok_exprs, ok_flags = [], [], []
        for j, (rx, fl) in enumerate(zip(exprs, flags)):
            for extra in (0, hyperscan.HS_FLAG_PREFILTER):
                try:
                    probe = hyperscan.Database()
                    probe.compile(expressions=[rx], ids=[j], elements=1, flags=[fl | extra])
                except hyperscan.error:
                    continue
                ids.append(j)
                ok_exprs.append(rx)
                ok_flags.append(fl | extra)
                accepted.add(j)
                break
        if not ok_exprs:
            return None, accepted
        db = hyperscan.Database()
        db.compile(expressions=ok_exprs, ids=ids, elements=len(ok_exprs), flags=ok_flags)
        return db, accepted

    def _scratch(self):
        s = getattr(self._local, "scratch", None)
        if s is None:
            s = self._local.scratch = hyperscan.Scratch(self._db)
        return s

    def candidates(self, text: str) -> dict[int, set[int]]:
        """recognizer index -> character offsets where one of its prefilters matched (match ends)."""
        hits: dict[int, set[int]] = {}
        if self._db is not None:
            ascii_text = text.isascii()
            data = text.encode("ascii") if ascii_text else text.encode("utf-8", "surrogatepass")
            raw: list[tuple[int, int]] = []
            owner = self._owner

            def on_match(pid, start, end, flags, ctx):
                raw.append((owner[pid], end))

            self._db.scan(data, match_event_handler=on_match, scratch=self._scratch())
            if raw:
                conv = (lambda b: b) if ascii_text else _byte_to_char(data)
                for rec, end in raw:
                    hits.setdefault(rec, set()).add(conv(max(end - 1, 0)))
        for rx, rec in zip(self._slow, self._slow_owner):
            for m in rx.finditer(text):
                hits.setdefault(rec, set()).add(max(m.end() - 1, m.start()))
        return hits

    def scan(self, text: str, threshold: float = 0.0, enabled: set[str] | None = None) -> list[Detection]:
        results: list[Detection] = []
        for rec_i, positions in self.candidates(text).items():
            rec = self.recognizers[rec_i]
            if enabled is not None and rec.ENTITY not in enabled:
                continue
            seen: set[tuple[int, int]] = set()
            for pos in sorted(positions):
                lo, hi = _window(text, pos, rec.WINDOW_AFTER)
                if any(a <= lo and hi <= b for a, b in seen):
                    continue
                seen.add((lo, hi))
                for r in rec.find(text[lo:hi], lo):
                    if r.score >= threshold:
                        results.append(Detection(rec.ENTITY, rec.CATEGORY, r.start, r.end, r.score, rec.name))
        return resolve_overlaps(results)


def _window(text: str, pos: int, after: int) -> tuple[int, int]:
    lo = text.rfind("\n", 0, pos) + 1
    hi = text.find("\n", pos)
    if hi < 0:
        hi = len(text)
    if after:
        hi = min(len(text), max(hi, pos + after))
    lo = max(lo, pos - MAX_LINE_WINDOW)
    hi = min(hi, pos + MAX_LINE_WINDOW + after)
    return lo, hi


def _byte_to_char(data: bytes):
    """Map UTF-8 byte offsets to character offsets (non-ASCII texts only; built once per scan)."""
    starts_b = [0]
    starts_c = [0]
    c = 0
    for line in data.split(b"\n")[:-1]:
        c += len(line.decode("utf-8", "surrogatepass")) + 1
        starts_b.append(starts_b[-1] + len(line) + 1)
        starts_c.append(c)

    def conv(b: int) -> int:
        i = bisect.bisect_right(starts_b, b) - 1
        # Within the line, decode the prefix (lines are short; minified lines are rare).
        return starts_c[i] + len(data[starts_b[i]:b].decode("utf-8", "ignore"))

    return conv


def resolve_overlaps(results: list[Detection]) -> list[Detection]:
    """Keep non-overlapping detections: higher score first, then longer, then earlier."""
    if len(results) < 2:
        return sorted(results, key=lambda d: d.start)
    kept: list[Detection] = []
    for d in sorted(results, key=lambda d: (-d.score, -(d.end - d.start), d.start)):
        if all(d.end <= k.start or d.start >= k.end for k in kept):
            kept.append(d)
    return sorted(kept, key=lambda d: d.start)
