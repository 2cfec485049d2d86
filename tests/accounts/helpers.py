import base64

import pyotp
from django.test import Client
from django.urls import reverse

SECRET = b"12345678901234567890"
PASSWORD = "correct-horse-battery-9"


def authenticator(secret: bytes = SECRET) -> pyotp.TOTP:
    """What a phone app computes from the enrolled secret."""
    return pyotp.TOTP(base64.b32encode(secret).decode())


def password_step(client: Client, username: str, password: str = PASSWORD):
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


def otp_step(client: Client, code: str):
    return client.post(reverse("accounts:otp"), {"code": code})
