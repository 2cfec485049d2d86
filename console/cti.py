"""The phone system's webhook contract (docs/console.md, "Phone system"): each
event is a JSON body signed with the installation's secret, HMAC-SHA256 over
"<timestamp>.<body>", the timestamp in seconds since the epoch. Refused: a
missing or wrong signature, a timestamp outside the replay window, a body that
is not the contract. Pure functions: the view and the service do the rest."""

import hashlib
import hmac
import json
from dataclasses import dataclass

SIGNATURE_HEADER = "X-Secretariat-Signature"
TIMESTAMP_HEADER = "X-Secretariat-Timestamp"
EVENTS = ("ringing", "answered", "ended")
MAX_BODY = 4096
TIMESTAMP_DIGITS = 12


class Refused(Exception):
    """An event refused: `reason` is an identifier for the audit trail, never data."""

    def __init__(self, reason: str, status: int):
        super().__init__(reason)
        self.reason = reason
        self.status = status


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(*, secret: str, timestamp: str, signature: str, body: bytes, now: float, window: int):
    """Raise Refused unless the signature is the secret's over this very body and
    timestamp, and the timestamp is within `window` seconds of now."""
    # ASCII digits only (str.isdigit() also takes "²", which int() refuses), and
    # few enough of them to compare with a float (400 nines overflow it).
    plain = timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= TIMESTAMP_DIGITS
    if not plain or abs(now - int(timestamp)) > window:
        raise Refused("expired", 401)
    expected = sign(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise Refused("signature", 401)


@dataclass(frozen=True)
class CallEvent:
    event: str
    call_id: str
    caller: str
    called: str
    agent: str


def parse(body: bytes) -> CallEvent:
    """The event, or Refused("contract", 400)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Refused("contract", 400) from None
    if not isinstance(data, dict):
        raise Refused("contract", 400)
    values = {
        name: data.get(name, "") for name in ("event", "call_id", "caller", "called", "agent")
    }
    if not all(isinstance(value, str) for value in values.values()):
        raise Refused("contract", 400)
    # Control characters are no phone system's: PostgreSQL refuses NUL in text.
    if any(not value.isprintable() for value in values.values()):
        raise Refused("contract", 400)
    if values["event"] not in EVENTS or not 0 < len(values["call_id"]) <= 100:
        raise Refused("contract", 400)
    if not values["called"] or len(values["caller"]) > 40 or len(values["agent"]) > 150:
        raise Refused("contract", 400)
    return CallEvent(**values)
