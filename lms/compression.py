"""Pages compressed for the learners' slow networks at a level that costs the web processes
half as much.

Django's GZipMiddleware compresses every page at zlib's level 6. Measured on the catalogue's
page (12 KB of HTML): level 6 gives 2,427 bytes in 77 µs of CPU, level 3 gives 2,637 bytes in 34
µs (level 1: 2,726 in 33). Every signed-in page is answered in 300 to 500 µs of a web process's
CPU here, so level 6 cost a sixth of a catalogue visit for 210 bytes that a 256 kbit/s line
carries in 7 ms. This middleware is Django's with that one change for the pages it answers at
once (streamed answers keep Django's own path): the same short-answer and already-encoded
exceptions, Vary on Accept-Encoding, weak ETags, and the same defence against BREACH (a gzip
header of random length, so that the compressed size does not reveal the page's secrets).

A page whose body is the same for many requests (the catalogue's, kept in process memory) is
compressed in three parts: the chrome before it per request, the body and the footer after it
once (the footer is the same for every page of a language and kind of visitor). Each part is raw
DEFLATE from a fresh compressor ending on a byte boundary (a sync flush; the last part a final
block), so that none refers back into another and their concatenation is one valid stream, as
parallel gzip tools join theirs; the checksum is taken over the whole page as before. On the
catalogue the per-request compression goes from the whole 12 KB page to its 2.4 KB header.
"""

from __future__ import annotations

import gzip
import secrets
import struct
import zlib

from django.http import HttpRequest, HttpResponseBase
from django.middleware.gzip import GZipMiddleware as DjangoGZipMiddleware
from django.middleware.gzip import re_accepts_gzip
from django.utils.cache import patch_vary_headers

LEVEL = 3
SHORTEST = 200  # bytes: shorter answers go as they are (Django's bound)


def compress(data: bytes, *, max_random_bytes: int) -> bytes:
    """`data` gzipped at LEVEL, with a file name of random length (0 to max_random_bytes - 1
    bytes) in its header: the answer's length then varies by that much from one request to
    the next, as Django's own does."""
    return _gzip(max_random_bytes, [_deflate(data, zlib.Z_FINISH)], zlib.crc32(data), len(data))


def _gzip(max_random_bytes: int, deflated: list[bytes], crc: int, size: int) -> bytes:
    """A gzip member around raw DEFLATE: the header with a name of random length, the
    checksum and size of what it unpacks to (RFC 1952)."""
    name = b"a" * secrets.randbelow(max_random_bytes) + b"\x00"
    header = bytes((0x1F, 0x8B, zlib.DEFLATED, gzip.FNAME, 0, 0, 0, 0, 0, 255))
    return b"".join((header, name, *deflated, struct.pack("<II", crc, size & 0xFFFFFFFF)))


def _deflate(data: bytes, mode: int) -> bytes:
    """Raw DEFLATE at LEVEL with a window no larger than the data (and a hash table to match).
    zlib's default compressor allocates about 256 KB, whose setting up cost more than
    compressing a page (a 12 KB page: 94 µs at the defaults, about 45 with a 16 KB window and
    the same output within 0.3 %); a window as large as the data finds the same matches."""
    bits = min(zlib.MAX_WBITS, max(9, (len(data) - 1).bit_length()))
    packer = zlib.compressobj(LEVEL, zlib.DEFLATED, -bits, max(1, bits - 7))
    return packer.compress(data) + packer.flush(mode)


# Parts shared by many answers, kept compressed: {(text, last): (its UTF-8 bytes, its raw
# DEFLATE, ending in a sync flush, or in a final block when it ends the page)}.
MAX_SHARED = 256
_shared: dict[tuple[str, bool], tuple[bytes, bytes]] = {}
PARTS = "lms_gzip_parts"  # the response attribute: (before, shared body, after) as str


def shared_part(text: str, *, last: bool = False) -> tuple[bytes, bytes]:
    """A shared part's bytes and raw DEFLATE, computed on its first use and kept (the lookup
    hashes the string, which Python keeps on the object, and compares it on a match)."""
    key = (text, last)
    entry = _shared.get(key)
    if entry is None:
        data = text.encode()
        entry = (data, _deflate(data, zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH))
        if len(_shared) >= MAX_SHARED:
            _shared.clear()
        _shared[key] = entry
    return entry


def compress_parts(
    before: bytes,
    shared: tuple[bytes, bytes],
    after: tuple[bytes, bytes],
    *,
    max_random_bytes: int,
) -> bytes:
    """The gzip of before + shared + after (`after` ending the page), the kept DEFLATE of the
    last two reused: what compress() gives (the same random-length name in the header), with
    only `before` compressed again."""
    (data, deflated), (tail, tail_deflated) = shared, after
    crc = zlib.crc32(tail, zlib.crc32(data, zlib.crc32(before)))
    size = len(before) + len(data) + len(tail)
    head = _deflate(before, zlib.Z_SYNC_FLUSH)
    return _gzip(max_random_bytes, [head, deflated, tail_deflated], crc, size)


def _packed(response: HttpResponseBase, content: bytes, max_random_bytes: int) -> bytes:
    parts = getattr(response, PARTS, None)
    if parts is not None:
        before, body, after = parts
        head, shared, tail = before.encode(), shared_part(body), shared_part(after, last=True)
        if len(head) + len(shared[0]) + len(tail[0]) == len(content):
            return compress_parts(head, shared, tail, max_random_bytes=max_random_bytes)
    return compress(content, max_random_bytes=max_random_bytes)


class GZipMiddleware(DjangoGZipMiddleware):
    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if (
            response.streaming
            or response.has_header("Content-Encoding")
            or len(response.content) < SHORTEST  # type: ignore[attr-defined]
            or not re_accepts_gzip.search(request.META.get("HTTP_ACCEPT_ENCODING", ""))
        ):
            return super().process_response(request, response)  # type: ignore[no-any-return]
        patch_vary_headers(response, ("Accept-Encoding",))
        content: bytes = response.content  # type: ignore[attr-defined]
        packed = _packed(response, content, self.max_random_bytes)
        if len(packed) >= len(content):
            return response
        response.content = packed  # type: ignore[attr-defined]
        response.headers["Content-Length"] = str(len(packed))
        etag = response.get("ETag")
        if etag and etag.startswith('"'):
            response.headers["ETag"] = "W/" + etag
        response.headers["Content-Encoding"] = "gzip"
        return response
