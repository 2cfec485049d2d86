"""TOTP and recovery codes, each accepted once under a row lock.

django-otp checks `last_t` without a lock, so two parallel requests with the same
code could both pass; here the device row is locked (select_for_update) for the
whole check-and-advance. Accepted steps: the current 30-second step and the
previous one (clock skew of a phone), never a future one.
"""

import base64
import hashlib
import hmac
import os
import time
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_otp.oath import hotp

from accounts.models import RecoveryCode, TOTPDevice, User

STEP_SECONDS = 30
ACCEPTED_PAST_STEPS = 1
SECRET_BYTES = 20
RECOVERY_CODE_COUNT = 10
# 25 base32 characters = 125 bits, above the 112 bits SECURITY.md asks for.
RECOVERY_CODE_CHARS = 25


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP_SECONDS)


def _normalise_token(token: str) -> int | None:
    token = token.strip().replace(" ", "")
    # ASCII digits only: "²" is a digit to str.isdigit() but not to int().
    if len(token) != 6 or not (token.isascii() and token.isdigit()):
        return None
    return int(token)


def verify_device_token(*, device_id: int, token: str, now: float | None = None) -> bool:
    code = _normalise_token(token)
    if code is None:
        return False
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device_id)
        key = device.secret()
        step = current_step(now)
        for candidate in range(step, step - ACCEPTED_PAST_STEPS - 1, -1):
            if candidate <= device.last_t:
                break
            if hotp(key, candidate, digits=6) == code:
                device.last_t = candidate
                device.save(update_fields=["last_t"])
                return True
    return False


def new_secret() -> bytes:
    return os.urandom(SECRET_BYTES)


def provisioning_uri(user: User, secret: bytes) -> str:
    label = quote(f"{settings.OTP_TOTP_ISSUER}:{user.username}")
    query = urlencode(
        {
            "secret": base64.b32encode(secret).decode().rstrip("="),
            "issuer": settings.OTP_TOTP_ISSUER,
            "algorithm": "SHA1",
            "digits": 6,
            "period": STEP_SECONDS,
        }
    )
    return f"otpauth://totp/{label}?{query}"


def _digest(salt: bytes, code: str) -> bytes:
    return hmac.new(salt, code.encode(), hashlib.sha256).digest()


def _normalise_recovery(code: str) -> str:
    return code.strip().replace("-", "").replace(" ", "").upper()


@transaction.atomic
def recovery_codes_regenerate(*, user: User) -> list[str]:
    """Replace the user's recovery codes; return the new ones, shown once."""
    RecoveryCode.objects.filter(user=user).delete()
    codes, rows = [], []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = base64.b32encode(os.urandom(16)).decode()[:RECOVERY_CODE_CHARS]
        salt = os.urandom(16)
        rows.append(RecoveryCode(user=user, salt=salt, digest=_digest(salt, raw)))
        codes.append("-".join(raw[i : i + 5] for i in range(0, RECOVERY_CODE_CHARS, 5)))
    RecoveryCode.objects.bulk_create(rows)
    return codes


@transaction.atomic
def recovery_code_use(*, user: User, code: str) -> bool:
    wanted = _normalise_recovery(code)
    if len(wanted) != RECOVERY_CODE_CHARS:
        return False
    for row in RecoveryCode.objects.select_for_update().filter(user=user, used_at__isnull=True):
        if hmac.compare_digest(_digest(bytes(row.salt), wanted), bytes(row.digest)):
            row.used_at = timezone.now()
            row.save(update_fields=["used_at"])
            return True
    return False
