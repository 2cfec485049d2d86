"""Phone lines and calls for the console's tests, through the services."""

import json
import time

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Practice
from accounts.scoping import practice_scope
from audit.context import Actor
from console import cti, services
from console.models import Call, PhoneLine

SECRET = "test-cti-secret"


def phone_line(practice: Practice, number: str = "+33140000001") -> PhoneLine:
    return PhoneLine.objects.create(practice=practice, number=number)


def ring(line: PhoneLine, caller: str, agent: str = "", call_id: str = "c-1") -> Call:
    event = cti.CallEvent(
        event="ringing", call_id=call_id, caller=caller, called=line.number, agent=agent
    )
    item = services.PhoneEvent(
        line=line, event=event, at=timezone.now(), actor=Actor.system("test")
    )
    with practice_scope(line.practice):
        call, _changed = services.call_event_record(item=item)
    return call


def post_event(
    client: Client,
    event: dict,
    *,
    secret: str = SECRET,
    timestamp: int | None = None,
    signature: str | None = None,
):
    body = json.dumps(event).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return client.post(
        reverse("console:cti_webhook"),
        data=body,
        content_type="application/json",
        headers={
            cti.TIMESTAMP_HEADER: stamp,
            cti.SIGNATURE_HEADER: signature or cti.sign(secret, stamp, body),
        },
    )
