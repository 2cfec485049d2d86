import uuid

from django.http import HttpRequest


class RequestIdMiddleware:
    """A reference for each request, shown on error pages and written in audit."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        request.request_id = uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response
