"""The API's JSON renderer: DRF's output, encoded by orjson, with the shared head of an answer encoded only once.

An advice over 1,000 providers is a 145 KB document; the standard library's encoder spent about 0.85 ms on it per
request, orjson about 0.07 ms (docs/PERFORMANCE.md). The bytes are DRF's: datetimes are handed
to DRF's own encoder (ISO 8601 with `Z`), as is any type orjson does not know (Decimal, lazy translations), and
U+2028/U+2029 are escaped as DRF escapes them. Whatever orjson refuses (an integer past 64 bits, a non-string key) and
any request for indented output goes to DRF's renderer unchanged.

A repeated advice answers with the same 145 KB and only its job summary differs. `WithSharedHead` carries that split
to the renderer: the head (a `SharedHead`, kept with the advice) is encoded once, and so is its gzip stream
(comfyvn_site/middleware.py); each response encodes only its own members.
"""
import threading
import zlib
from typing import Any

import orjson
from rest_framework import renderers

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME
_LINE_SEPARATORS = ((b"\xe2\x80\xa8", b"\\u2028"), (b"\xe2\x80\xa9", b"\\u2029"))
_DRF_DEFAULT = renderers.JSONRenderer.encoder_class().default


def _encode(data) -> bytes:
    """DRF's compact JSON for `data`, by orjson; raises orjson.JSONEncodeError where only DRF's renderer can."""
    body = orjson.dumps(data, default=_DRF_DEFAULT, option=_OPTIONS)
    # Both separators start with 0xE2: one memchr, where two 3-byte searches cost 0.18 ms on a 145 KB answer.
    if b"\xe2" in body:
        for raw, escaped in _LINE_SEPARATORS:
            body = body.replace(raw, escaped)
    return body


class SharedHead:
    """The leading members of a JSON object that many answers begin with, encoded (and gzipped) once, on demand.

    `members` is shared by every answer built on it, so nothing may change it. Thread-safe.
    """

    def __init__(self, members: dict) -> None:
        self.members = members
        self._lock = threading.Lock()
        self._encoded: bytes | None = None
        self._gzip: tuple[bytes, Any] | None = None  # the gzip stream so far, the compressor after it

    def encoded(self) -> bytes:
        """The head's JSON without its closing brace: what every answer built on it starts with."""
        with self._lock:
            if self._encoded is None:
                self._encoded = _encode(self.members)[:-1]
            return self._encoded

    def gzip_after(self) -> tuple[bytes, Any]:
        """The gzip stream so far for `encoded()`, and a compressor to continue it with the rest of one answer.

        The compressor is a copy of the state after the head, so head and rest form one gzip member; only the rest is
        compressed per answer. The head's stream ends in a sync flush: deflate holds up to 16,000 symbols back to
        choose a block's codes, and without the flush every answer's final flush coded those again (74 µs of each
        answer, in-process). The flush costs 5 bytes and keeps the window, so the rest can still refer to the head.
        """
        head = self.encoded()
        with self._lock:
            if self._gzip is None:
                compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
                self._gzip = (compressor.compress(head) + compressor.flush(zlib.Z_SYNC_FLUSH), compressor)
            stream, compressor = self._gzip
            return stream, compressor.copy()


class WithSharedHead(dict):
    """A JSON object: `head`'s members, then this answer's `own` (no key in both). To everything but JSONRenderer it
    is the plain dict it equals."""

    def __init__(self, head: SharedHead, own: dict) -> None:
        if not own.keys().isdisjoint(head.members):
            raise ValueError("own members must not repeat the head's")
        super().__init__(head.members)
        self.update(own)
        self.head, self.own = head, own


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        renderer_context = renderer_context or {}
        if data is None or self.get_indent(accepted_media_type, renderer_context):
            return super().render(data, accepted_media_type, renderer_context)
        try:
            if isinstance(data, WithSharedHead):
                return self._render_with_head(data, renderer_context.get("response"))
            return _encode(data)
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)

    @staticmethod
    def _render_with_head(data: WithSharedHead, response) -> bytes:
        head, own = data.head.encoded(), _encode(data.own)
        body = head + (b"," if data.head.members and data.own else b"") + own[1:]
        if response is not None:  # the middleware may gzip it from the head's stream
            response.json_head = data.head
        return body
