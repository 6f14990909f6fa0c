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
    doc: bool = False  # a documentation / test value (base.DOC): masked unless the pack allows them


class Engine:
    def __init__(self, recognizers: list[Recognizer]):
        self.recognizers = list(recognizers)
        self._owner: list[int] = []           # prefilter id -> recognizer index
        self._guards: list[frozenset[str] | None] = []   # prefilter id -> pattern names it guards
        exprs: list[bytes] = []
        flags: list[int] = []
        for i, rec in enumerate(self.recognizers):
            for k, rx in enumerate(rec.prefilters):
                exprs.append(rx.encode())
                flags.append(hyperscan.HS_FLAG_CASELESS if hyperscan and rec.PREFILTER_CASELESS else 0)
                self._owner.append(i)
                self._guards.append(rec.patterns_for(k))
        self._slow: list[re.Pattern] = []     # prefilters hyperscan could not take, run with `re`
        self._slow_owner: list[int] = []
        self._db = None
        self._local = threading.local()
        if hyperscan is not None and exprs:
            self._db, accepted = self._compile(exprs, flags)
            for j in sorted(set(range(len(exprs))) - accepted):
                self._add_slow(exprs[j].decode(), j)
        else:
            for j, rx in enumerate(exprs):
                self._add_slow(rx.decode(), j)

    def _add_slow(self, rx: str, prefilter_id: int) -> None:
        caseless = self.recognizers[self._owner[prefilter_id]].PREFILTER_CASELESS
        self._slow.append(re.compile(rx, re.I if caseless else 0))
        self._slow_owner.append(prefilter_id)

    def _compile(self, exprs: list[bytes], flags: list[int]):
        """Compile all prefilters; a pattern hyperscan rejects is retried in prefilter mode, then left to `re`."""
        try:   # the usual case: every pattern compiles as written, one compile instead of one probe per pattern
            db = hyperscan.Database()
            db.compile(expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs), flags=flags)
            return db, set(range(len(exprs)))
        except hyperscan.error:
            pass
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
        """prefilter id -> character offsets where it matched (the last character of the match)."""
        hits: dict[int, set[int]] = {}
        if self._db is not None:
            ascii_text = text.isascii()
            data = text.encode("ascii") if ascii_text else text.encode("utf-8", "surrogatepass")
            raw: list[tuple[int, int]] = []

            def on_match(pid, start, end, flags, ctx):
                raw.append((pid, end))

            self._db.scan(data, match_event_handler=on_match, scratch=self._scratch())
            if raw:
                if not ascii_text:
                    raw = _to_char_offsets(data, raw)
                for pid, end in raw:
                    hits.setdefault(pid, set()).add(max(end - 1, 0))
        for rx, pid in zip(self._slow, self._slow_owner):
            for m in rx.finditer(text):
                hits.setdefault(pid, set()).add(max(m.end() - 1, m.start()))
        return hits

    def scan(self, text: str, threshold: float = 0.0, enabled: set[str] | None = None) -> list[Detection]:
        results: list[Detection] = []
        for pid, positions in self.candidates(text).items():
            rec = self.recognizers[self._owner[pid]]
            if enabled is not None and rec.ENTITY not in enabled:
                continue
            only = self._guards[pid]
            # One regex pass per merged window: a long line with hits everywhere is read once, not per hit.
            for lo, hi in _merged_windows(text, positions, rec.WINDOW_AFTER):
                for r in rec.find(text[lo:hi], lo, only):
                    if r.score >= threshold:
                        results.append(Detection(rec.ENTITY, rec.CATEGORY, r.start, r.end, r.score, rec.name,
                                                 bool(r.recognition_metadata.get("doc"))))
        return resolve_overlaps(results)


def _merged_windows(text: str, positions, after: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for pos in sorted(positions):
        if out and pos < out[-1][1]:
            continue                      # already inside the current window
        lo, hi = _window(text, pos, after)
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


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


def _to_char_offsets(data: bytes, raw: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Turn UTF-8 byte offsets into character offsets, decoding each stretch between hits once."""
    out = []
    prev_b = prev_c = 0
    for pid, b in sorted(raw, key=lambda x: x[1]):
        prev_c += len(data[prev_b:b].decode("utf-8", "ignore"))
        prev_b = b
        out.append((pid, prev_c))
    return out


# Generic recognizers (by context: a key name, a URL's password, an encoding) lose a tie to a format
# that names the provider, so the same text gets the same type in every process.
GENERIC_ENTITIES = frozenset({"secret_assignment", "password_in_url", "url_query_secret", "bearer_token",
                              "encoded_secret", "kubernetes_secret"})


def _priority(d: Detection) -> tuple:
    # The last keys make ties deterministic: without them the order of a set (hash-seeded) decided.
    return (-d.score, -(d.end - d.start), d.start, d.entity in GENERIC_ENTITIES, d.entity, d.rule, d.end)


def resolve_overlaps(results: list[Detection]) -> list[Detection]:
    """Keep non-overlapping detections: higher score first, then longer, then earlier; on a tie the
    provider's own format before a generic one, then by name (the same type in every process)."""
    if len(results) < 2:
        return sorted(results, key=lambda d: d.start)
    starts: list[int] = []            # kept spans, sorted by start (they never overlap)
    kept: list[Detection] = []
    for d in sorted(set(results), key=_priority):
        i = bisect.bisect_left(starts, d.start)
        if i > 0 and kept[i - 1].end > d.start:
            continue
        if i < len(kept) and kept[i].start < d.end:
            continue
        starts.insert(i, d.start)
        kept.insert(i, d)
    return kept
