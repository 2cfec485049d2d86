"""Generic error pages with a reference id; never a stack trace outside DEBUG."""

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string


def _page(request: HttpRequest, template: str, status: int, message: str = "") -> HttpResponse:
    context = {"request_id": getattr(request, "request_id", ""), "message": message}
    response = HttpResponse(render_to_string(template, context), status=status)
    response["Cache-Control"] = "no-store"
    return response


def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    # A refusal made for the user (secretariat.inputs.RefusedParameter) says
    # what was wrong, in French; any other 400 stays generic.
    return _page(request, "errors/400.html", 400, getattr(exception, "user_message", ""))


def permission_denied(request: HttpRequest, exception=None) -> HttpResponse:
    return _page(request, "errors/403.html", 403)


def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    return _page(request, "errors/404.html", 404)


def server_error(request: HttpRequest) -> HttpResponse:
    return _page(request, "errors/500.html", 500)
