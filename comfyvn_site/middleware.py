"""Refuse oversized request bodies up front with the JSON error contract (DRF's parsers skip Django's limit)."""
from django.conf import settings
from django.http import JsonResponse


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
