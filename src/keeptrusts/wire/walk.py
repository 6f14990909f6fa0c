"""The floor under the typed request parsers: every string of a JSON body is a segment.

The typed parsers (wire/requests.py) know which texts are prompts, tool outputs or tool calls.
Whatever they do not claim (tool descriptions and parameter schemas, `metadata`, `text.format`
schemas, item types added next month) is still text that leaves the machine, so it is scanned here
as kind OTHER. Embedded files are decoded: base64 text files (data: URLs, `file_data`) are scanned
as their text and re-encoded when redacted; payloads the chain cannot read (images, PDFs, archives,
undecodable "text") are reported to the caller, which applies `gateway.binary_payloads`.
"""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from ..exchange import OTHER, Segment

_DATA_URL = re.compile(r"data:([\w.+-]+/[\w.+-]+)?((?:;[\w.+-]+=[\w.+-]+)*)(;base64)?,", re.I)
_TEXT_MIME = re.compile(
    r"^(text/.*|application/(json|ld\+json|xml|yaml|x-yaml|toml|x-toml|javascript|x-javascript|ecmascript|"
    r"x-sh|x-shellscript|x-python|x-python-code|sql|x-sql|x-ndjson|csv|x-csv|x-httpd-php|x-ruby|x-perl|"
    r"graphql|x-www-form-urlencoded|x-properties|x-ini|x-env)|.*\+(json|xml))$", re.I)
_TEXT_EXT = re.compile(r"\.(txt|md|rst|json|jsonl|ya?ml|toml|ini|cfg|conf|env|csv|tsv|xml|html?|css|js|mjs|cjs|ts|tsx|"
                       r"jsx|py|rb|go|rs|java|kt|c|h|cc|cpp|hpp|cs|php|sh|bash|zsh|ps1|sql|tf|hcl|properties|"
                       r"gradle|swift|scala|lua|pl|r|dockerfile|log|pem|key|crt)$", re.I)
_MIN_FILE_B64 = 16  # shorter `file_data` strings are scanned as plain text anyway
_FIELD_NAME = re.compile(r"[a-z_]{1,40}\Z")
_INERT = re.compile(r"[a-z_.\-]{1,40}\Z")


@dataclass
class Unreadable:
    """An embedded payload the chain cannot read: the caller decides (gateway.binary_payloads)."""

    path: tuple
    mime: str
    kind: str        # "image" | "file" | "undecodable"

    @property
    def where(self) -> str:
        return Segment(self.path, OTHER, "").where


def is_text_mime(mime: str) -> bool:
    return bool(_TEXT_MIME.match(mime or ""))


def _decode_text(b64: str) -> str | None:
    try:
        raw = base64.b64decode(b64.strip(), validate=False)
    except (binascii.Error, ValueError):
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _file_segment(path: tuple, value: str, parent: dict | None, key: Any,
                  out: list[Segment], unreadable: list[Unreadable]) -> bool:
    """Handle a string that is an embedded file. True when handled (scanned or reported)."""
    m = _DATA_URL.match(value)
    if m and m.group(3):
        mime = (m.group(1) or "application/octet-stream").lower()
        body = value[m.end():]
        if mime.startswith("image/"):
            unreadable.append(Unreadable(path, mime, "image"))
            return True
        if is_text_mime(mime):
            text = _decode_text(body)
            if text is None:
                unreadable.append(Unreadable(path, mime, "undecodable"))
            else:
                out.append(Segment(path, OTHER, text, "user", encoding=f"data-url:{value[:m.end()]}"))
            return True
        unreadable.append(Unreadable(path, mime, "file"))
        return True
    if key == "file_data" and isinstance(parent, dict) and len(value) >= _MIN_FILE_B64:
        name = str(parent.get("filename") or "")
        text = _decode_text(value)
        if text is not None and (_TEXT_EXT.search(name) or not name):
            out.append(Segment(path, OTHER, text, "user", encoding="base64"))
        else:
            unreadable.append(Unreadable(path, name or "application/octet-stream",
                                         "undecodable" if _TEXT_EXT.search(name) else "file"))
        return True
    return False


def uncovered(body: Any, covered: set[tuple]) -> tuple[list[Segment], list[Unreadable]]:
    """Segments for every string in `body` whose path is not in `covered`, and embedded payloads
    the chain cannot read. Object keys are scanned too (as their own segments, path ending in
    ("<key>", name)), since a key is text that leaves the machine. A short run of lower-case letters,
    `_`, `.` or `-` (item types, roles, statuses, tool names) carries nothing a policy could find and is
    not made a segment: that keeps a 500 KB history's walk to its real texts."""
    out: list[Segment] = []
    unreadable: list[Unreadable] = []
    inert = _INERT.match
    field_name = _FIELD_NAME.match

    def walk(node: Any, path: tuple, parent: Any, key: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if not field_name(k):  # ordinary field names (letters and _) carry no data
                    out.append(Segment(path + (("<key>", k),), OTHER, k, "other"))
                if isinstance(v, str):
                    if v and not inert(v):
                        leaf(v, path + (k,), node, k)
                elif isinstance(v, (dict, list)):
                    walk(v, path + (k,), node, k)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                if isinstance(v, str):
                    if v and not inert(v):
                        leaf(v, path + (i,), node, i)
                elif isinstance(v, (dict, list)):
                    walk(v, path + (i,), node, i)

    def leaf(value: str, path: tuple, parent: Any, key: Any) -> None:
        if path in covered:
            return
        if len(value) >= _MIN_FILE_B64 and _file_segment(path, value, parent, key, out, unreadable):
            return
        out.append(Segment(path, OTHER, value, "other"))

    if isinstance(body, str):
        if body and not inert(body):
            leaf(body, (), None, None)
    else:
        walk(body, (), None, None)
    return out, unreadable


def encode_back(seg: Segment) -> Any:
    """The value to write at seg.path for an edited segment (re-encoded where it was encoded)."""
    enc = seg.encoding
    if not enc:
        return seg.text
    if enc.startswith("data-url:"):
        return enc[len("data-url:"):] + base64.b64encode(seg.text.encode()).decode()
    if enc == "base64":
        return base64.b64encode(seg.text.encode()).decode()
    return seg.text
