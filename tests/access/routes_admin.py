"""The Django admin (secretariat/admin.py): every one of its URLs, read and
written, refused to every persona, none of whom is staff: anonymous visitors go
to our login page, everybody else gets 403 (audited). What a superuser may do
there is tested in tests/test_admin.py. The list is read from the admin's own
URLconf, so a model registered tomorrow joins the table by itself."""

from django.urls import URLPattern, URLResolver, get_resolver

from tests.access.routes import Route

# Values for the admin URLs' parameters: any will do, the refusal comes first.
_ARGUMENTS = {"object_id": "1", "app_label": "accounts", "content_type_id": "1", "url": "x"}
# Covered in tests/test_admin.py: the admin has no login of its own.
_OWN_TESTS = {"admin:login", "admin:logout"}
_WRITES = ("_add", "_change", "_delete", "_changelist")


def _admin_patterns():
    for pattern in get_resolver().url_patterns:
        if isinstance(pattern, URLResolver) and pattern.namespace == "admin":
            yield from _walk(pattern)


def _walk(resolver: URLResolver):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield pattern


def _route(pattern: URLPattern, method: str) -> Route:
    names = pattern.pattern.regex.groupindex
    arguments = {name: _ARGUMENTS[name] for name in names}
    return Route(
        f"admin:{pattern.name}",
        kwargs=lambda world, arguments=arguments: arguments,
        method=method,
        practice_scoped=False,
    )


def admin_routes() -> list[Route]:
    routes = []
    for pattern in _admin_patterns():
        if f"admin:{pattern.name}" in _OWN_TESTS:
            continue
        routes.append(_route(pattern, "get"))
        if pattern.name.endswith(_WRITES):
            routes.append(_route(pattern, "post"))
    return routes


ROUTES = admin_routes()
