"""One detection rule: a regex, the family it belongs to, how much a match weighs, where it counts.

Rules are data (see `families/`); the engine compiles them all into one multi-pattern database.
A weight is the score a single match gives a segment (0..1); several rules combine by noisy-or.
"""
from __future__ import annotations

from dataclasses import dataclass

ANY = "any"              # counts in user/system messages and in tool outputs
UNTRUSTED = "untrusted"  # counts only in untrusted text (tool outputs): a user may ask for this
DECODER = "decoder"      # not scored: marks text the scanner decodes and scans again
MARKER = "marker"        # not scored: reported once per text, switches on a slower scanner step


@dataclass(frozen=True)
class Rule:
    id: str                # stable name, e.g. "override.ignore_previous"
    family: str            # stable family name, e.g. "instruction_override"
    pattern: str           # Python `re` and Hyperscan compatible (no lookaround, no backrefs)
    weight: float = 0.5
    scope: str = ANY
    case_sensitive: bool = False
    note: str = ""         # what the rule is for, shown by `kt` and the docs
    run_chars: str = ""    # decoders: the character class of a candidate run (reported once per run)
    anchor: str = ""       # a simpler regex for the multi-pattern engine: matches (part of) every match
    quotable: bool = True  # a short quoted mention of the match ("...", `...`) weighs less
    solo: bool = False     # weak markers: several of them count once, like one mention
    window: int = 0        # longest match in characters, when much shorter than the engine's default


def rules(family: str, rows: list[tuple], scope: str = ANY, anchors: dict[str, str] | None = None) -> list[Rule]:
    """Build a family's rules from (id, weight, pattern[, scope[, case_sensitive[, run_chars]]]) rows.

    `anchors` maps a row id to its anchor: patterns with nested repeats compile slowly (or not at all)
    in Hyperscan, so it looks for the anchor and Python's `re` confirms the full rule around it.
    """
    out = []
    for row in rows:
        rid, weight, pattern, *rest = row
        out.append(Rule(f"{family}.{rid}", family, pattern, weight,
                        rest[0] if rest else scope, bool(rest[1]) if len(rest) > 1 else False,
                        run_chars=rest[2] if len(rest) > 2 else "", anchor=(anchors or {}).get(rid, "")))
    return out
