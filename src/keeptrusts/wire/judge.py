"""The interface between response-stream parsers and the policy chain.

Stream parsers (responses_stream, chat_stream) assemble output items and ask an OutputJudge
what to do; the addon implements it with the chain, the redactor and the audit.
"""
from __future__ import annotations

from typing import Protocol

from ..exchange import Completion, OutputItem


class OutputJudge(Protocol):
    def item(self, item: OutputItem) -> str | None:
        """Judge one completed output item; may edit item.text. Returns a block message or None."""

    def done(self, completion: Completion) -> str | None:
        """Judge the whole completion at the end. Returns a block message or None."""

    def restore(self, text: str) -> str:
        """Put redacted originals back into model text bound for the client."""


class PassJudge:
    """Judges nothing: used for unscanned flows and in parser tests."""

    def item(self, item: OutputItem) -> str | None:
        return None

    def done(self, completion: Completion) -> str | None:
        return None

    def restore(self, text: str) -> str:
        return text
