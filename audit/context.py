"""Who is acting, as what, where from.

An `Actor` is built once per request (by `ActorMiddleware`, completed by the
tenant middleware with the practice and by the permission decorator with the
acting role) and once per task or command (`Actor.system`). Services take it as
their one `actor=` keyword argument and pass it to `record_event`: the HTTP
request never goes below the views.

The audit is the ground floor: this module imports nothing of the domain apps,
so the user is held loosely typed.
"""

from dataclasses import dataclass, replace
from typing import Any

from django.http import HttpRequest

from secretariat.net import client_ip

SYSTEM_ROLE = "system"
_USER_AGENT_MAX = 256


@dataclass(frozen=True, slots=True)
class Actor:
    user: Any = None
    role: str = ""
    practice_id: int | None = None
    ip: str = ""
    user_agent: str = ""
    request_id: str = ""
    # The task or command acting when there is no user (audit shows it as author).
    system_name: str = ""

    @classmethod
    def system(cls, name: str, *, practice: Any = None) -> "Actor":
        return cls(role=SYSTEM_ROLE, system_name=name, practice_id=_pk(practice))

    @classmethod
    def from_request(cls, request: HttpRequest, *, user: Any = None) -> "Actor":
        """The actor of a request; `user` names the person a login step is about
        before the session is theirs."""
        if user is None:
            user = getattr(request, "user", None)
        if user is not None and not user.is_authenticated:
            user = None
        practice = getattr(request, "practice", None)
        return cls(
            user=user,
            practice_id=_pk(practice),
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:_USER_AGENT_MAX],
            request_id=getattr(request, "request_id", ""),
        )

    def acting_as(self, role: str) -> "Actor":
        return replace(self, role=role)

    def in_practice(self, practice: Any) -> "Actor":
        return replace(self, practice_id=_pk(practice))

    def for_user(self, user: Any) -> "Actor":
        return replace(self, user=user)

    @property
    def user_id(self) -> int | None:
        return getattr(self.user, "pk", None)

    @property
    def username(self) -> str:
        if self.user is not None:
            return self.user.username
        return f"system:{self.system_name}" if self.system_name else ""


def _pk(value: Any) -> Any:
    return getattr(value, "pk", value)
