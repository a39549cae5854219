"""Refuse oversized request bodies up front with the JSON error contract (DRF's parsers skip Django's limit), and gzip
repeated advice cheaply."""
from django.conf import settings
from django.http import JsonResponse
from django.utils.cache import patch_vary_headers


class BodySizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse({"code": "invalid_content_length", "message": "Content-Length is not a number.",
                                 "extra": {}}, status=400)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length > limit:
            return JsonResponse({"code": "payload_too_large",
                                 "message": f"Request body of {length} bytes exceeds the limit of {limit} bytes.",
                                 "extra": {"limit_bytes": limit}}, status=413)
        return self.get_response(request)


class SharedHeadGZipMiddleware:
    """gzip for answers that begin with a shared head (a repeated advice), to clients that accept it.

    An advice over 1,000 providers is 145 KB of JSON that gzips to 10 KB, and most HTTP clients ask for gzip
    (requests, httpx, Go's net/http, browsers). Compressing it whole costs 0.5 ms (zlib level 6), more than half of
    what answering a repeated question costs in-process; the head's gzip stream is kept with the head
    (comfyvn_site/renderers.py), so each response compresses only its job summary. Nothing else is compressed: the
    other answers are small or not asked for on every job. An advice holds no secret (credentials never leave the
    registry), so compressing it beside reflected input reveals nothing (BREACH needs a secret in the same body).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        head = getattr(response, "json_head", None)
        if head is None or response.streaming or response.has_header("Content-Encoding"):
            return response
        patch_vary_headers(response, ("Accept-Encoding",))
        if not accepts_gzip(request.META.get("HTTP_ACCEPT_ENCODING", "")):
            return response
        content, prefix = response.content, head.encoded()
        if not content.startswith(prefix):  # something after the renderer rewrote the body
            return response
        stream, compressor = head.gzip_after()
        response.content = stream + compressor.compress(content[len(prefix):]) + compressor.flush()
        response["Content-Encoding"] = "gzip"
        if response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
        return response


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header admits gzip: listed (or x-gzip, or `*`) with a q-value above 0 (RFC 9110
    12.5.3); `gzip;q=0` refuses it."""
    weights = {}
    for item in accept_encoding.split(","):
        coding, *params = (part.strip() for part in item.split(";"))
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if coding:
            weights[coding.lower()] = weight
    for coding in ("gzip", "x-gzip", "*"):
        if coding in weights:
            return weights[coding] > 0
    return False
