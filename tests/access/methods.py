"""The HTTP methods each URL's view accepts, read from the view itself: the
method list of Django's require_http_methods (require_GET, require_POST…)
wherever it sits in the decorator stack, or a class-based view's handlers.
A view that restricts nothing accepts every method."""

from collections.abc import Callable, Iterator

from django.urls import URLPattern, URLResolver, get_resolver

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def accepted_methods(view: Callable) -> frozenset[str]:
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        return _class_methods(view_class, getattr(view, "view_initkwargs", {}))
    allowed = set(METHODS)
    for layer in _layers(view):
        for name, cell in zip(layer.__code__.co_freevars, layer.__closure__ or (), strict=False):
            if name == "request_method_list":
                allowed &= {method.upper() for method in cell.cell_contents}
    return frozenset(allowed)


def _layers(view: Callable) -> Iterator[Callable]:
    """The view and every function it wraps (functools.wraps sets __wrapped__)."""
    seen = set()
    while view is not None and id(view) not in seen:
        seen.add(id(view))
        if hasattr(view, "__code__"):
            yield view
        view = getattr(view, "__wrapped__", None)


def _class_methods(view_class, initkwargs: dict) -> frozenset[str]:
    names = initkwargs.get("http_method_names", view_class.http_method_names)
    handlers = {name for name in names if hasattr(view_class, name)}
    if "get" in handlers and "head" in names:
        handlers.add("head")  # View.setup answers HEAD with get
    return frozenset(name.upper() for name in handlers)


def url_views(resolver=None, namespace: str = "") -> Iterator[tuple[str, Callable]]:
    """(URL name, view) for every named URL, the Django admin aside."""
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from url_views(pattern, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}", pattern.callback
