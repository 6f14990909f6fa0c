"""Bounded decoding of request bodies (Content-Encoding gzip, deflate, br, zstd, identity).

mitmproxy's `get_content()` expands a body in full before anyone can look at its size: a 1 MB
gzip that expands to 1 GiB costs gigabytes and blocks the event loop. Here every decoder is driven
incrementally with an output cap, so a bomb stops at `limit + 1` bytes. Callers run it off the event
loop (asyncio.to_thread) for large bodies.
"""
from __future__ import annotations

import zlib

try:  # the same zstd module mitmproxy itself uses
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - Python < 3.14
    from backports import zstd  # type: ignore[no-redef]

import brotli

CHUNK = 256 * 1024


class DecodeError(ValueError):
    """The body cannot be decoded (unknown encoding, corrupt data)."""


class TooLarge(ValueError):
    def __init__(self, size: int):
        super().__init__(f"decoded body exceeds {size} bytes")
        self.size = size


def _zlib(raw: bytes, limit: int, wbits: int) -> bytes:
    d = zlib.decompressobj(wbits)
    out = bytearray()
    data = raw
    while True:
        out += d.decompress(data, limit + 1 - len(out))
        if len(out) > limit:
            raise TooLarge(limit)
        data = d.unconsumed_tail
        if not data:
            break
    if not d.eof and wbits != -zlib.MAX_WBITS:
        out += d.flush()
        if not d.eof:
            raise DecodeError("truncated compressed body")
    if len(out) > limit:
        raise TooLarge(limit)
    return bytes(out)


def _brotli(raw: bytes, limit: int) -> bytes:
    d = brotli.Decompressor()
    out = bytearray()
    try:
        out += d.process(raw, output_buffer_limit=CHUNK)
        while len(out) <= limit and not d.can_accept_more_data():
            out += d.process(b"", output_buffer_limit=CHUNK)
        if len(out) > limit:
            raise TooLarge(limit)
        if not d.is_finished():
            raise DecodeError("truncated brotli body")
    except brotli.error as exc:
        raise DecodeError(f"corrupt brotli body: {exc}") from None
    return bytes(out)


def _zstd(raw: bytes, limit: int) -> bytes:
    out = bytearray()
    data = raw
    try:
        while data:
            d = zstd.ZstdDecompressor()
            out += d.decompress(data, limit + 1 - len(out))
            while not d.eof and not d.needs_input and len(out) <= limit:
                out += d.decompress(b"", limit + 1 - len(out))
            if len(out) > limit:
                raise TooLarge(limit)
            if not d.eof:
                raise DecodeError("truncated zstd body")
            data = d.unused_data  # concatenated frames
    except zstd.ZstdError as exc:
        raise DecodeError(f"corrupt zstd body: {exc}") from None
    return bytes(out)


def decode_body(raw: bytes, encoding: str | None, limit: int) -> bytes:
    """The decoded body, at most `limit` bytes. Raises TooLarge or DecodeError."""
    codings = [c.strip().lower() for c in (encoding or "").split(",") if c.strip()]
    data = raw
    for coding in reversed(codings):  # applied in order listed: undo the last first
        if coding in ("identity", ""):
            continue
        if coding in ("gzip", "x-gzip"):
            data = _zlib(data, limit, 16 + zlib.MAX_WBITS)
        elif coding == "deflate":
            try:
                data = _zlib(data, limit, zlib.MAX_WBITS)
            except (zlib.error, DecodeError):
                data = _zlib(data, limit, -zlib.MAX_WBITS)  # raw deflate, as some clients send it
        elif coding == "br":
            data = _brotli(data, limit)
        elif coding == "zstd":
            data = _zstd(data, limit)
        else:
            raise DecodeError(f"unsupported Content-Encoding {coding!r}")
    if len(data) > limit:
        raise TooLarge(limit)
    return data


def decode_or_error(raw: bytes, encoding: str | None, limit: int) -> bytes:
    try:
        return decode_body(raw, encoding, limit)
    except zlib.error as exc:
        raise DecodeError(f"corrupt {encoding} body: {exc}") from None
