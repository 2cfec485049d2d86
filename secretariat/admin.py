"""The Django admin: the technical console of the provider's on-call engineers
(superusers), not a second way into the application (docs/decisions.md, "The
Django admin").

- No login of its own: /admin/login/ sends to ours (password, TOTP, lockout,
  audit), and a session must have passed TOTP (django-otp's OTPAdminSite).
  Anonymous visitors are sent to our login; a logged-in user who is not staff
  is refused (403, audited like any refusal).
- It changes only what WRITABLE names: technical settings with no page of their
  own and no business rule. Every other model it shows is read-only; practices,
  memberships, invitations, patient data and the audit trail are changed by the
  services behind the application's pages (rules, confirmation, audit).
- Every write (any POST reaching a model's page) runs in one transaction with
  an audit event naming the model, the objects and the admin action.
"""

from functools import wraps

from django.contrib.admin import ModelAdmin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import redirect
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminSite

from accounts.views import logout_view
from audit.models import Action, ObjectType, Outcome
from audit.services import record_event

# What the admin may do, by model: everything else it shows is read-only.
WRITABLE: dict[str, frozenset[str]] = {
    # The beat schedule: pause or move a periodic task without a deployment.
    **{
        f"django_celery_beat.{model}": frozenset({"add", "change", "delete"})
        for model in (
            "periodictask",
            "crontabschedule",
            "intervalschedule",
            "solarschedule",
            "clockedschedule",
        )
    },
    # A new version of the charter; a published one never changes.
    "accounts.confidentialityagreement": frozenset({"add"}),
    # Deactivating an account (runbooks: a person leaves, incident containment).
    "accounts.user": frozenset({"change"}),
    # Unlocking a login before its cool-off ends.
    "accounts.loginthrottle": frozenset({"delete"}),
    "axes.accessattempt": frozenset({"delete"}),
}
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class PolicyAdmin:
    """Mixed into every ModelAdmin the site registers: WRITABLE decides, and the
    objects each write touches are noted on the request for its audit event."""

    def _allowed(self) -> frozenset[str]:
        return WRITABLE.get(self.model._meta.label_lower, frozenset())

    def has_add_permission(self, request, *args) -> bool:
        return "add" in self._allowed() and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None) -> bool:
        return "change" in self._allowed() and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return "delete" in self._allowed() and super().has_delete_permission(request, obj)

    def get_actions(self, request):
        # A library's own actions (e.g. "enable tasks") write without asking
        # for the change permission: none on a read-only model.
        if not self._allowed():
            return {}
        return super().get_actions(request)

    def log_addition(self, request, obj, message):
        _note(request, [obj.pk])
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        _note(request, [obj.pk])
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        _note(request, list(queryset.values_list("pk", flat=True)))
        return super().log_deletions(request, queryset)


def _note(request: HttpRequest, pks: list) -> None:
    request.admin_written = [*getattr(request, "admin_written", []), *map(str, pks)]


class SecretariatAdminSite(OTPAdminSite):
    site_header = _("Secretariat — console technique")
    site_title = _("Console technique")

    def __init__(self, name: str = "admin"):
        # OTPAdminSite's default name is "otpadmin": the URLs stay admin:….
        super().__init__(name)

    def register(self, model_or_iterable, admin_class=None, **options):
        base = admin_class or ModelAdmin
        policed = type(base.__name__, (PolicyAdmin, base), {"__module__": base.__module__})
        super().register(model_or_iterable, policed, **options)

    def admin_view(self, view, cacheable=False):
        checked = super().admin_view(_audited(view), cacheable)

        @wraps(checked)
        def entry(request: HttpRequest, *args, **kwargs):
            if not self.has_permission(request):
                if request.user.is_authenticated:
                    raise PermissionDenied
                return redirect_to_login(request.get_full_path(), reverse("accounts:login"))
            return checked(request, *args, **kwargs)

        entry.admin_audited = True
        return entry

    def get_urls(self):
        urls = super().get_urls()
        for pattern in urls:
            # LoginRequiredMiddleware sends anonymous visitors there: ours.
            if hasattr(pattern.callback, "login_url"):
                pattern.callback.login_url = reverse_lazy("accounts:login")
        return urls

    def login(self, request, extra_context=None):
        # Ours, with its lockout and audit; it comes back here afterwards.
        return redirect_to_login(reverse("admin:index"), reverse("accounts:login"))

    def logout(self, request, extra_context=None):
        return logout_view(request)

    def password_change(self, request, extra_context=None):
        return redirect("accounts:password_change")


def _audited(view):
    """A model page's POST runs in one transaction with its audit event."""
    model_admin = getattr(view, "__self__", None)
    if not isinstance(model_admin, ModelAdmin):
        return view

    @wraps(view)
    def audited(request: HttpRequest, *args, **kwargs):
        if request.method in _SAFE_METHODS:
            return view(request, *args, **kwargs)
        with transaction.atomic():
            response = view(request, *args, **kwargs)
            _record_write(request, model_admin, view.__name__, kwargs, response.status_code)
        return response

    return audited


def _record_write(request, model_admin: ModelAdmin, view_name: str, kwargs, status: int) -> None:
    admin_action = request.POST.get("action", "") if view_name == "changelist_view" else ""
    if view_name == "add_view":
        action = Action.CREATE
    elif view_name == "delete_view" or admin_action == "delete_selected":
        action = Action.DELETE
    else:
        action = Action.UPDATE
    objects = getattr(request, "admin_written", None) or (
        [kwargs["object_id"]] if "object_id" in kwargs else []
    )
    if not objects and admin_action:
        objects = request.POST.getlist(ACTION_CHECKBOX_NAME)
    role = "superuser" if request.user.is_superuser else "staff"
    record_event(
        actor=request.actor.acting_as(role),
        action=action,
        practice=None,
        object_type=ObjectType.ADMIN,
        object_id=objects[0] if len(objects) == 1 else "",
        outcome=Outcome.ALLOWED if status < 400 else Outcome.DENIED,
        detail={
            "model": model_admin.model._meta.label_lower,
            "admin_action": admin_action[:80],
            "objects": [pk[:80] for pk in objects[:500]],
            "status": status,
        },
    )
