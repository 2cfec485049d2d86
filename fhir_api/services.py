"""Registering, rotating and revoking a practice's API client (a platform
admin's acts, each in one transaction with its audit event in the practice's
chain). The secret is returned once and stored only hashed (django-oauth-
toolkit hashes `client_secret` on save)."""

import secrets

from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from accounts.models import Practice
from audit.context import Actor
from audit.models import Action, ObjectType
from audit.services import record_event
from fhir_api import scopes as smart
from fhir_api.models import ApiClient

SECRET_BYTES = 48


class ClientError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _audit(api_client: ApiClient, action: Action, actor: Actor, **detail) -> None:
    record_event(
        actor=actor,
        action=action,
        practice=api_client.practice_id,
        object_type=ObjectType.API_CLIENT,
        object_id=api_client.pk,
        detail=detail,
    )


@transaction.atomic
def api_client_register(
    *, practice: Practice, name: str, scopes: list[str], actor: Actor
) -> tuple[ApiClient, str]:
    """A new client for `practice` with these SMART scopes; returns it and its
    secret (shown once, never stored in clear)."""
    granted = sorted(smart.parse(" ".join(scopes)))
    if not granted or len(granted) != len(set(scopes)):
        raise ClientError("unknown or missing scopes")
    secret = secrets.token_urlsafe(SECRET_BYTES)
    application = Application.objects.create(
        name=name[:100],
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,
        hash_client_secret=True,
    )
    api_client = ApiClient.objects.create(
        practice=practice,
        application=application,
        client_id=application.client_id,
        name=name[:100],
        scopes=" ".join(granted),
        created_by=actor.user,
    )
    _audit(api_client, Action.CREATE, actor, scopes=granted)
    return api_client, secret


def _locked(api_client: ApiClient) -> ApiClient:
    return (
        ApiClient.objects.select_for_update(of=("self",))
        .select_related("application")
        .get(pk=api_client.pk, practice_id=api_client.practice_id)
    )


@transaction.atomic
def api_client_rotate(*, api_client: ApiClient, actor: Actor) -> tuple[ApiClient, str]:
    """A new secret; the old one and every token issued under it stop at once."""
    api_client = _locked(api_client)
    if not api_client.live:
        raise ClientError("revoked client")
    secret = secrets.token_urlsafe(SECRET_BYTES)
    application = api_client.application
    application.client_secret = secret
    application.save(update_fields=["client_secret", "updated"])
    AccessToken.objects.filter(application=application).delete()
    api_client.rotated_at = timezone.now()
    api_client.save(update_fields=["rotated_at"])
    _audit(api_client, Action.UPDATE, actor, change="rotated")
    return api_client, secret


@transaction.atomic
def api_client_revoke(*, api_client: ApiClient, actor: Actor) -> ApiClient:
    """The client stops: its Application and tokens are deleted, the row stays."""
    api_client = _locked(api_client)
    if api_client.revoked_at is not None:
        return api_client
    if api_client.application is not None:
        api_client.application.delete()
    api_client.application = None
    api_client.revoked_at = timezone.now()
    api_client.save(update_fields=["application", "revoked_at"])
    _audit(api_client, Action.UPDATE, actor, change="revoked")
    return api_client
