"""Where a match sits: inside an HTML comment or a CSS-hidden element, or quoted as a mention.

Cheap look-backs from the match start, run only for the few matches a text has.
"""
from __future__ import annotations

import re

LOOKBACK = 4000
_HIDDEN_STYLE = re.compile(
    r"(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:px|em|rem|pt|%)?\s*[;\"']|opacity\s*:\s*0(?:\.0+)?\s*[;\"']"
    r"|color\s*:\s*(?:#fff(?:fff)?\b|white\b|rgba?\(\s*255\s*,\s*255\s*,\s*255|transparent\b)"
    r"|(?:height|width|max-height)\s*:\s*0(?:px)?\s*[;\"']|left\s*:\s*-\d{3,}px|text-indent\s*:\s*-\d{3,}"
    r"|clip\s*:\s*rect\(\s*0|\shidden\s*(?:>|=|\s)|\baria-hidden\s*=\s*[\"']true|\bclass\s*=\s*[\"'][^\"']*\b(?:sr-only|visually-hidden|hidden)\b)",
    re.IGNORECASE)
_OPEN_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9]*)\b[^<>]*>")
_QUOTES = {'"': '"', "'": "'", "`": "`", "\u201c": "\u201d", "\u2018": "\u2019", "«": "»"}
# Quoting alone is no alibi (an attacker can quote an instruction); a mention is a quote that code
# or prose presents as an example: a literal in code (after = ( [ { , | or as an argument), or a
# phrase introduced by words that cite it.
_CODE_LEAD = "=([{,|;`"
_CODE_WORD = re.compile(r"(?:^|\s)(?:echo|printf|print|puts|grep|rg|assert|raise|return|log|warn)\s*$")
_CITING = re.compile(r"(?:(?<!\w)(?:e\.g\.|i\.e\.)|\b(?:such\s+as|like|for\s+example|example|examples|phrases?|strings?|patterns?|"
                     r"text|words?|detects?|detected|detecting|matches|matching|flags?|called|named|quoted|cites?|"
                     r"injections?|attacks?|jailbreaks?|payloads?|classic|known|typical|sample|test|tests)\b)[^\n]{0,30}$",
                     re.IGNORECASE)


def in_html_comment(text: str, pos: int) -> bool:
    lo = max(0, pos - LOOKBACK)
    opened = text.rfind("<!--", lo, pos)
    return opened != -1 and text.find("-->", opened, pos) == -1


def in_hidden_element(text: str, pos: int) -> bool:
    """Inside an element whose style or class hides it (white-on-white, display:none, ...)."""
    lo = max(0, pos - LOOKBACK)
    chunk = text[lo:pos]
    if "<" not in chunk:
        return False
    for m in reversed(list(_OPEN_TAG.finditer(chunk))):
        if not _HIDDEN_STYLE.search(m.group(0)):
            continue
        tag = m.group(1).lower()
        # Hidden unless the element was closed before the match.
        return f"</{tag}" not in chunk[m.end():].lower()
    return False


NOT_QUOTED, CITED, QUOTED = 0, 1, 2


def quoted_mention(text: str, start: int, end: int, reach: int = 40) -> int:
    """The match sits inside a short quoted string on one line: "ignore previous instructions" as docs
    cite it, a test's command literal, `curl ... | sh` as inline code. Long quoted prose (a JSON
    string holding a whole issue body) does not count: its quotes are far from the match.

    Returns CITED for a quote that code or prose presents as an example, QUOTED for any other short
    quote (an attacker may quote an instruction), NOT_QUOTED otherwise."""
    line_start = text.rfind("\n", max(0, start - reach), start) + 1
    before = text[max(line_start, start - reach):start]
    line_end = text.find("\n", end, end + reach)
    after = text[end:line_end if line_end != -1 else end + reach]
    for i in range(len(before) - 1, -1, -1):
        close = _QUOTES.get(before[i])
        if close is None:
            continue
        # An opening quote: the same quote must not be closed again before the match.
        if close in before[i + 1:]:
            return NOT_QUOTED
        # A JSON or YAML value ("description": "...") is content someone wrote, not a code literal.
        quote_at = start - len(before) + i
        lead = text[max(line_start, quote_at - 12):quote_at].rstrip()
        if lead.endswith(('":', "':")):
            return NOT_QUOTED
        if close not in after:
            return NOT_QUOTED
        if before[i] == "`" or (lead and lead[-1] in _CODE_LEAD) or _CODE_WORD.search(lead):
            return CITED
        return CITED if _CITING.search(text[max(0, quote_at - 60):quote_at]) else QUOTED
    return NOT_QUOTED
