"""Restoring placeholders in text deltas, which may cut a placeholder in two."""
from __future__ import annotations

from ..redaction import Redactor


class DeltaRestorer:
    """Per text stream: holds back a tail that may be the start of a placeholder."""

    def __init__(self, restore):
        self._restore = restore
        self._tails: dict = {}

    def feed(self, key, delta: str) -> str:
        text = self._tails.pop(key, "") + delta
        if "<" not in text:
            return text
        safe, tail = Redactor.split_partial(text)
        if tail:
            self._tails[key] = tail
        return self._restore(safe) if "<" in safe else safe

    def flush(self, key) -> str:
        tail = self._tails.pop(key, "")
        return self._restore(tail) if tail else ""
