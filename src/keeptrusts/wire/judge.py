"""The interface between response parsers and the policy chain.

Stream parsers (responses_stream, chat_stream) and the JSON judge (responses_json) assemble output
items and ask an OutputJudge what to do; the addon implements it with the chain, the redactor and
the audit.
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

    # Optional (see `unjudged` below): def unjudged(self, what: str) -> str | None


def unjudged_message(what: str) -> str:
    return (f"Keeptrusts could not check the model's answer: {what}, which it cannot judge, "
            "so the answer was stopped (fail-mode block)")


def unjudged(judge, what: str) -> str | None:
    """The parser met something it cannot classify (`what` says which, for the audit and the user).

    A judge may define `unjudged(what) -> str | None` to record it and apply its fail mode: return the
    block message (fail-mode block) or None to let it pass unjudged (fail-mode allow). Judges without
    that method fail closed."""
    fn = getattr(judge, "unjudged", None)
    if fn is None:
        return unjudged_message(what)
    return fn(what)


class PassJudge:
    """Judges nothing: used for unscanned flows and in parser tests. Still fails closed on what the
    parser cannot classify (it has no fail mode to say otherwise)."""

    def item(self, item: OutputItem) -> str | None:
        return None

    def done(self, completion: Completion) -> str | None:
        return None

    def restore(self, text: str) -> str:
        return text
