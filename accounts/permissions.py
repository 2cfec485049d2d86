"""Every view declares its permission with one of these decorators.

The check fails closed: a practice view needs the practice resolved by
PracticeScopeMiddleware (404 otherwise), a role of the user there that carries
the permission, and django-guardian's object permission on the Practice (so a
role whose group lost the grant loses access too). Provider views need an active
provider role carrying the permission and the matching global permission.
"""

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from accounts.roles import ROLE_PERMISSIONS, Role
from accounts.selectors import PracticeAccess, provider_roles


def practice_perm(access: PracticeAccess | None, codename: str) -> bool:
    """One of the user's roles in the practice carries the codename, and
    django-guardian grants it on the Practice (for rules, which take no request)."""
    if access is None or not access.allows(codename):
        return False
    # guardian's grant on the practice, resolved once per request (PracticeAccess.granted).
    return codename in access.granted


def has_practice_perm(request: HttpRequest, codename: str) -> bool:
    return practice_perm(getattr(request, "practice_access", None), codename)


def practice_permission(codename: str) -> Callable:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            access = getattr(request, "practice_access", None)
            if access is None:
                raise Http404
            if not has_practice_perm(request, codename):
                raise PermissionDenied
            request.actor = request.actor.acting_as(access.role_for(codename))
            return view(request, *args, **kwargs)

        wrapper.required_permission = codename
        return wrapper

    return decorator


def provider_permission(codename: str) -> Callable:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            roles = provider_roles(request.user)
            granting = [
                role for role in Role.values if role in roles and codename in ROLE_PERMISSIONS[role]
            ]
            if not granting or not request.user.has_perm(f"accounts.{codename}"):
                raise PermissionDenied
            request.actor = request.actor.acting_as(granting[0])
            return view(request, *args, **kwargs)

        wrapper.required_permission = codename
        return wrapper

    return decorator


def any_authenticated(view: Callable) -> Callable:
    """For pages every logged-in user may see (home, own sessions)."""
    view.required_permission = "authenticated"
    return view


def agreement_exempt(view: Callable) -> Callable:
    """Reachable before the confidentiality agreement is accepted (login,
    enrolment, the charter itself): see secretariat/pipeline.py."""
    view.agreement_exempt = True
    return view
