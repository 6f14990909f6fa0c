"""Which requests the gateway has a model for: path canonicalisation and the route table.

Closed world: a request to an intercepted host is forwarded only when its (method, canonical path)
is in this table, or when it is a bodiless read. Everything else is refused by the caller with an
envelope naming the path. The path is canonicalised *before* routing and the canonical form is what
goes upstream, so the upstream never sees a spelling (case, `;params`, `//`, percent-encoding) that
routed differently here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

# API prefixes: the public API, and the ChatGPT-login Codex backend (chatgpt.com/backend-api/codex).
PREFIXES = ("/v1", "/backend-api/codex", "/openai/v1")

# canonical path below a prefix -> api model. `{id}` matches one opaque id segment.
_POST_ROUTES: dict[str, str] = {
    "/chat/completions": "chat",
    "/responses": "responses",
    "/responses/compact": "responses",        # Codex remote compaction: the whole history
    "/responses/input_tokens": "responses",   # token counting: the whole request
    "/embeddings": "embeddings",
    "/completions": "completions",
    "/conversations": "conversations",
    "/conversations/{id}": "conversations",
    "/conversations/{id}/items": "conversations",
}
_ID = re.compile(r"[A-Za-z0-9_\-]{1,200}")
BODILESS_METHODS = ("GET", "HEAD", "DELETE", "OPTIONS")


class PathError(ValueError):
    """A path spelling the gateway refuses to interpret (encoded slash, dot segment, control char)."""


@dataclass(frozen=True)
class Route:
    method: str
    path: str            # canonical path, as forwarded (prefix included, no query)
    api: str             # chat | responses | embeddings | completions | conversations | read | websocket | unknown
    prefix: str = ""     # which API prefix matched ("" when none)

    @property
    def modelled(self) -> bool:
        return self.api not in ("unknown",)


def canonical_path(raw_path: str) -> tuple[str, str]:
    """(canonical path, query) of a request target. Raises PathError for spellings we refuse.

    Percent-decoding is done once; an encoded `/`, `\\` or `%` (double encoding) is refused rather than
    guessed at, as are dot segments and control characters. `;params` are stripped from every
    segment, empty segments are collapsed, and the path is lower-cased (OpenAI paths are lower-case;
    ids keep their case).
    """
    path, _, query = raw_path.partition("?")
    low = path.lower()
    for bad in ("%2f", "%5c", "%25", "%00"):
        if bad in low:
            raise PathError(f"encoded {unquote(bad) if bad != '%00' else 'NUL'!r} in the path")
    decoded = unquote(path)
    if any(ord(c) < 0x20 or c == "\x7f" for c in decoded) or "\\" in decoded:
        raise PathError("control character or backslash in the path")
    segs = []
    for seg in decoded.split("/"):
        seg = seg.split(";", 1)[0]
        if seg in ("", "."):
            continue
        if seg == "..":
            raise PathError("dot segment in the path")
        segs.append(seg)
    return "/" + "/".join(segs), query


def _match(parts: list[str]) -> tuple[str, list[str]] | None:
    """(api, canonical segments) of the path below a prefix: fixed words lower-cased, ids kept."""
    for pattern, api in _POST_ROUTES.items():
        pp = pattern.strip("/").split("/")
        if len(pp) != len(parts):
            continue
        if all((p == "{id}" and _ID.fullmatch(q)) or p == q.lower() for p, q in zip(pp, parts)):
            return api, [q if p == "{id}" else p for p, q in zip(pp, parts)]
    return None


def route(method: str, raw_path: str, websocket: bool = False) -> Route:
    """The route of a request. Raises PathError for a refused spelling."""
    path, _ = canonical_path(raw_path)
    method = method.upper()
    segs = [s for s in path.split("/") if s]
    low = [s.lower() for s in segs]
    for prefix in PREFIXES:
        pre = prefix.strip("/").split("/")
        if low[:len(pre)] != pre:
            continue
        rest = segs[len(pre):]
        hit = _match(rest)
        api, words = hit if hit else (None, rest)
        canon = "/" + "/".join(pre + words)
        if websocket:
            return Route(method, canon, "websocket" if api == "responses" and len(rest) == 1 else "unknown", prefix)
        if api is not None and method == "POST":
            return Route(method, canon, api, prefix)
        if method in BODILESS_METHODS:
            return Route(method, canon, "read", prefix)
        return Route(method, canon, "unknown", prefix)
    if websocket:
        return Route(method, path, "unknown")
    return Route(method, path, "read" if method in BODILESS_METHODS else "unknown")
