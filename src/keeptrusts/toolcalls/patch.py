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

`codex_parse` follows codex-rs/apply-patch/src/parser.rs (lenient mode, the one Codex runs) line by
line, because the firewall must see exactly the files Codex would write: the whole text is trimmed;
the first and last lines count after trimming (so ` *** Begin Patch` indented is accepted); a
`<<EOF` / `<<'EOF'` / `<<"EOF"` first line with a last line ending in EOF is unwrapped; a hunk
header is recognised after trimming the line (`    *** Add File: /etc/x` is a header) but only
where a hunk may start; `*** Move to: ` only unindented right after `Update File`; inside an update
chunk a line starting with a space is context, even when it reads like a header.

`parse_patch` is what the judges use: Codex's parse when it succeeds; when Codex would reject the
patch, every line that looks like a header after trimming (a superset: blocking a patch Codex would
refuse anyway costs nothing, and a newer Codex may be more lenient).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

BEGIN = "*** Begin Patch"
END = "*** End Patch"
ADD = "*** Add File: "
DELETE = "*** Delete File: "
UPDATE = "*** Update File: "
MOVE = "*** Move to: "
EOF_MARKER = "*** End of File"
_HEADERS = ((ADD, "add"), (DELETE, "delete"), (UPDATE, "update"))
_LOOSE_HEADER = re.compile(r"^\s*\*\*\*\s*(Add|Update|Delete) File:\s*(.+?)\s*$", re.I)
_LOOSE_MOVE = re.compile(r"^\s*\*\*\*\s*Move to:\s*(.+?)\s*$", re.I)


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


class PatchError(ValueError):
    pass


def looks_like_patch(text: str) -> bool:
    return "*** Begin Patch" in text or bool(re.search(r"^\s*\*\*\* (Add|Update|Delete) File: ", text, re.M))


def _boundaries(lines: list[str]) -> list[str]:
    """The hunk lines between the markers (check_patch_boundaries_lenient)."""
    def strict(ls: list[str]) -> list[str]:
        if not ls or ls[0].strip() != BEGIN:
            raise PatchError("The first line of the patch must be '*** Begin Patch'")
        if ls[-1].strip() != END:
            raise PatchError("The last line of the patch must be '*** End Patch'")
        return ls[1:-1] if len(ls) > 1 else []
    try:
        return strict(lines)
    except PatchError:
        if len(lines) >= 4 and lines[0] in ("<<EOF", "<<'EOF'", '<<"EOF"') and lines[-1].endswith("EOF"):
            return strict(lines[1:-1])
        raise


def codex_parse(text: str) -> list[FileOp]:
    """The file operations Codex's own parser finds, or PatchError where Codex would refuse."""
    # Rust's str::lines splits on \n and drops one \r before it; trim() strips both ends.
    lines = [ln[:-1] if ln.endswith("\r") else ln for ln in text.strip().split("\n")]
    body = _boundaries(lines)
    ops: list[FileOp] = []
    i = 0
    while i < len(body):
        first = body[i].strip()
        kind = next(((k, first[len(m):]) for m, k in _HEADERS if first.startswith(m)), None)
        if kind is None:
            raise PatchError(f"'{first}' is not a valid hunk header")
        op, path = kind
        i += 1
        if op == "add":
            cur = FileOp("add", path)
            while i < len(body) and body[i].startswith("+"):
                cur.added_text += body[i][1:] + "\n"
                i += 1
        elif op == "delete":
            cur = FileOp("delete", path)
        else:
            cur = FileOp("update", path)
            if i < len(body) and body[i].startswith(MOVE):
                cur.move_to = body[i][len(MOVE):]
                i += 1
            while i < len(body):
                line = body[i]
                if not line.strip():
                    i += 1
                    continue
                if line.startswith("*"):
                    break
                i = _chunk(body, i, cur, first_chunk=not cur.hunks)
            if not cur.hunks:
                raise PatchError(f"Update file hunk for path '{path}' is empty")
        ops.append(cur)
    return ops


def _chunk(lines: list[str], i: int, cur: FileOp, first_chunk: bool) -> int:
    """parse_update_file_chunk: one @@ chunk from lines[i]; returns the index after it."""
    if lines[i] == "@@" or lines[i].startswith("@@ "):
        i += 1
    elif not first_chunk:
        raise PatchError(f"Expected update hunk to start with a @@ context marker, got: '{lines[i]}'")
    if i >= len(lines):
        raise PatchError("Update hunk does not contain any lines")
    hunk = Hunk()
    parsed = 0
    while i < len(lines):
        line = lines[i]
        if line == EOF_MARKER:
            if parsed == 0:
                raise PatchError("Update hunk does not contain any lines")
            i += 1
            break
        c = line[:1]
        if c == "":
            hunk.old.append("")
            hunk.new.append("")
        elif c == " ":
            hunk.old.append(line[1:])
            hunk.new.append(line[1:])
        elif c == "+":
            hunk.new.append(line[1:])
        elif c == "-":
            hunk.old.append(line[1:])
        else:
            if parsed == 0:
                raise PatchError(f"Unexpected line found in update hunk: '{line}'")
            break
        parsed += 1
        i += 1
    cur.hunks.append(hunk)
    return i


def loose_parse(text: str) -> list[FileOp]:
    """Every header-looking line after trimming, in any position: what some apply_patch might touch."""
    ops: list[FileOp] = []
    cur: FileOp | None = None
    for line in text.splitlines():
        m = _LOOSE_HEADER.match(line)
        if m:
            cur = FileOp(m.group(1).lower(), m.group(2))
            ops.append(cur)
            continue
        m = _LOOSE_MOVE.match(line)
        if m and cur is not None:
            if cur.move_to:   # a second Move to: judge that destination too
                ops.append(FileOp("update", cur.path, m.group(1)))
            else:
                cur.move_to = m.group(1)
            continue
        if cur is not None and cur.op == "add" and line.startswith("+"):
            cur.added_text += line[1:] + "\n"
    return ops


def parse_patch(text: str) -> list[FileOp]:
    """What the judges use: Codex's own parse, or the superset when Codex would refuse the text."""
    try:
        return codex_parse(text)
    except PatchError:
        return loose_parse(text)


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
