"""Codex's `apply_patch` format: which files a patch touches, and whether its hunks fit a file.

    *** Begin Patch
    *** Update File: src/app.py
    *** Move to: src/main.py
    @@ def main():
     context line
    -old line
    +new line
    *** Add File: docs/new.md
    +content
    *** Delete File: old.txt
    *** End Patch
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

_HEADER = re.compile(r"^\*\*\* (Add|Update|Delete) File: (.+?)\s*$")
_MOVE = re.compile(r"^\*\*\* Move to: (.+?)\s*$")


@dataclass
class Hunk:
    old: list[str] = field(default_factory=list)   # context + removed lines, in order
    new: list[str] = field(default_factory=list)   # context + added lines, in order


@dataclass
class FileOp:
    op: str                    # "add", "update", "delete"
    path: str
    move_to: str | None = None
    hunks: list[Hunk] = field(default_factory=list)
    added_text: str = ""       # the content of an added file

    @property
    def paths(self) -> list[str]:
        return [self.path] + ([self.move_to] if self.move_to else [])


def looks_like_patch(text: str) -> bool:
    return "*** Begin Patch" in text or bool(re.search(r"^\*\*\* (Add|Update|Delete) File: ", text, re.M))


def parse_patch(text: str) -> list[FileOp]:
    ops: list[FileOp] = []
    cur: FileOp | None = None
    hunk: Hunk | None = None
    for line in text.splitlines():
        m = _HEADER.match(line)
        if m:
            cur = FileOp(m.group(1).lower(), m.group(2).strip())
            ops.append(cur)
            hunk = None
            continue
        if line.startswith("*** End Patch") or line.startswith("*** Begin Patch"):
            cur, hunk = (None, None) if line.startswith("*** End") else (cur, hunk)
            continue
        if cur is None:
            continue
        m = _MOVE.match(line)
        if m:
            cur.move_to = m.group(1).strip()
            continue
        if cur.op == "add":
            if line.startswith("+"):
                cur.added_text += line[1:] + "\n"
            continue
        if cur.op != "update":
            continue
        if line.startswith("@@") or line == "*** End of File":
            hunk = None
            if line.startswith("@@"):
                hunk = Hunk()
                cur.hunks.append(hunk)
            continue
        if hunk is None:
            hunk = Hunk()
            cur.hunks.append(hunk)
        if line.startswith("-"):
            hunk.old.append(line[1:])
        elif line.startswith("+"):
            hunk.new.append(line[1:])
        else:
            body = line[1:] if line.startswith(" ") else line
            hunk.old.append(body)
            hunk.new.append(body)
    return ops


def apply_hunks(content: str, hunks: list[Hunk]) -> str | None:
    """The file after the hunks, or None when a hunk's old lines are not found (in order)."""
    lines = content.split("\n")
    pos = 0
    for h in hunks:
        if not h.old:
            lines[pos:pos] = h.new
            pos += len(h.new)
            continue
        at = _find(lines, h.old, pos)
        if at is None:
            return None
        lines[at:at + len(h.old)] = h.new
        pos = at + len(h.new)
    return "\n".join(lines)


def _find(lines: list[str], block: list[str], start: int) -> int | None:
    # Codex's apply_patch matches exactly, then ignoring trailing, then surrounding whitespace.
    for norm in (lambda x: x, str.rstrip, str.strip):
        want = [norm(b) for b in block]
        for i in range(start, len(lines) - len(block) + 1):
            if all(norm(lines[i + k]) == want[k] for k in range(len(block))):
                return i
    return None
