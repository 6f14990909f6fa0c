"""Content-addressed request bodies.

Codex resends its whole history every turn (`input` for responses, `messages` for chat), plus the
same `instructions` and `tools`. We store each history item, and each big top-level value, once in
`items` (keyed by the SHA-256 of its canonical JSON) and keep in the event row only the body's
skeleton with markers in their place:

    {"model": "gpt-5", "input": {"$kt_items": ["3fa9...", "77c1..."]}, "tools": {"$kt_item": "90be..."}}

so a 40-turn session costs its new items, not forty copies of its history. A long list is cut into
chunks of CHUNK item hashes at fixed positions, each chunk stored as an item too
(`{"$kt_chunks": [...]}`): full chunks are shared by every later turn, so even the list of hashes
does not grow quadratically. It is a Merkle tree: the row hash covers the chunk hashes, a chunk
covers its item hashes. `join` rebuilds the body (keys inside items come back sorted: canonical
JSON, same meaning).

The row's `item_hashes` lists what its skeleton references directly; chunk references are
written `c:<hash>` so `kt audit verify` knows to check the items inside them too.
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict

import orjson

from .chain import item_hash

LIST_KEYS = ("input", "messages")
BIG_VALUE_BYTES = 512      # top-level values at least this big are stored as one item
CHUNK = 16                 # item hashes per chunk for long lists
CHUNK_PREFIX = "c:"
FORMAT = "split-v1"


def _canon(obj) -> str:
    # orjson: the writer canonicalises every item of a 500 KB history each turn; the stdlib took ~2 ms.
    try:
        return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


_SPLIT_CACHE: OrderedDict = OrderedDict()   # request body -> split result, for bodies warmed ahead
_SPLIT_LOCK = threading.Lock()


def warm(body: str | None) -> None:
    """Split a request body ahead of its record (the writer does this while the model generates), so
    the record's commit, which the response's final event waits for, finds the work done."""
    if body is None:
        return
    result = _split(body)
    with _SPLIT_LOCK:
        _SPLIT_CACHE[body] = result
        while len(_SPLIT_CACHE) > 32:
            _SPLIT_CACHE.popitem(last=False)


def split(body: str | None) -> tuple[str | None, str | None, list[str], dict[str, str]]:
    """(format, skeleton, item hashes in order of use, {hash: item text}) for a request body."""
    if body is None:
        return None, None, [], {}
    with _SPLIT_LOCK:
        hit = _SPLIT_CACHE.pop(body, None)
    return hit if hit is not None else _split(body)


def _split(body: str) -> tuple[str | None, str | None, list[str], dict[str, str]]:
    try:
        doc = orjson.loads(body)
    except (ValueError, TypeError):
        return "raw", body, [], {}
    if not isinstance(doc, dict):
        return "raw", body, [], {}
    items: dict[str, str] = {}
    order: list[str] = []

    def put(value, ref: bool = True, text: str | None = None) -> str:
        text = text if text is not None else _canon(value)
        h = item_hash(text)
        if h not in items:
            items[h] = text
        if ref and h not in refs:
            refs.add(h)
            order.append(h)
        return h

    refs: set[str] = set()
    skeleton = {}
    for key, value in doc.items():
        if key in LIST_KEYS and isinstance(value, list) and len(value) > CHUNK:
            hashes = [put(v, ref=False) for v in value]
            chunks = [put(hashes[i:i + CHUNK], ref=False) for i in range(0, len(hashes), CHUNK)]
            for c in chunks:
                if CHUNK_PREFIX + c not in refs:
                    refs.add(CHUNK_PREFIX + c)
                    order.append(CHUNK_PREFIX + c)
            skeleton[key] = {"$kt_chunks": chunks}
        elif key in LIST_KEYS and isinstance(value, list):
            skeleton[key] = {"$kt_items": [put(v) for v in value]}
        elif isinstance(value, (dict, list, str)) and len(text := _canon(value)) >= BIG_VALUE_BYTES:
            skeleton[key] = {"$kt_item": put(value, text=text)}
        else:
            skeleton[key] = value
    return FORMAT, json.dumps(skeleton, ensure_ascii=False, separators=(",", ":")), order, items


def join(fmt: str | None, skeleton: str | None, lookup) -> str | None:
    """The request body from its skeleton; `lookup(hash) -> item text | None`."""
    if fmt != FORMAT or skeleton is None:
        return skeleton

    def get(h: str):
        text = lookup(h)
        return json.loads(text) if text is not None else {"$kt_missing_item": h}

    doc = json.loads(skeleton)
    for key, value in doc.items():
        if isinstance(value, dict) and set(value) == {"$kt_chunks"}:
            doc[key] = [get(h) for c in value["$kt_chunks"] for h in json.loads(lookup(c) or "[]")]
        elif isinstance(value, dict) and set(value) == {"$kt_items"}:
            doc[key] = [get(h) for h in value["$kt_items"]]
        elif isinstance(value, dict) and set(value) == {"$kt_item"}:
            doc[key] = get(value["$kt_item"])
    return json.dumps(doc, ensure_ascii=False)
