from django.http import HttpRequest

from audit.context import Actor


class ActorMiddleware:
    """Who is acting: `request.actor`, built once here and completed by the
    access gates (practice) and the permission decorators (acting role).
    Services take it instead of the request. See secretariat/pipeline.py."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        request.actor = Actor.from_request(request)
        return self.get_response(request)
