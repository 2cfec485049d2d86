import uuid

from django.http import HttpRequest

from secretariat.logs import current_request


class RequestIdMiddleware:
    """A reference for each request, shown on error pages, written in audit and
    in every log line of the request (secretariat/logs.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        request.request_id = uuid.uuid4().hex
        token = current_request.set(request)
        try:
            response = self.get_response(request)
        finally:
            current_request.reset(token)
        response["X-Request-ID"] = request.request_id
        return response
