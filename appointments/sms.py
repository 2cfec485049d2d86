"""Text messages through a pluggable backend, like Django's e-mail backends.

`settings.SMS_BACKEND` names the backend by dotted path. Shipped here:

- `ConsoleBackend` (the default): writes each message to stdout, the number
  masked to its last two digits, so a development console or a container log
  never holds a patient's full number;
- `FileBackend`: appends one JSON line per message to `settings.SMS_FILE_PATH`,
  a file only its owner may read (mode 0600), for a staging gateway stub;
- `LocmemBackend`: keeps the messages in `outbox` (like `mail.outbox`) for tests.

A real gateway is one more class with `send_messages()`; nothing else changes.
"""

import json
import os
import sys
import threading
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

DEFAULT_BACKEND = "appointments.sms.ConsoleBackend"


@dataclass(frozen=True)
class SmsMessage:
    to: str  # E.164, e.g. +33612345678
    body: str

    def __repr__(self) -> str:
        # A message ending up in a traceback or a log shows no full number.
        return f"SmsMessage(to={mask(self.to)!r}, length={len(self.body)})"


def mask(number: str) -> str:
    """All but the last two digits hidden: "+33612345678" -> "••••••••••78"."""
    visible = 2
    if len(number) <= visible:
        return "•" * len(number)
    return "•" * (len(number) - visible) + number[-visible:]


class BaseSmsBackend:
    def __init__(self, fail_silently: bool = False, **kwargs) -> None:
        self.fail_silently = fail_silently

    def send_messages(self, messages: list[SmsMessage]) -> int:
        """Send the messages; return how many were sent."""
        raise NotImplementedError


class ConsoleBackend(BaseSmsBackend):
    def __init__(self, stream: IO[str] | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()

    def send_messages(self, messages: list[SmsMessage]) -> int:
        with self._lock:
            for message in messages:
                self.stream.write(f"SMS to {mask(message.to)}\n{message.body}\n{'-' * 40}\n")
            self.stream.flush()
        return len(messages)


class FileBackend(BaseSmsBackend):
    _lock = threading.Lock()

    def __init__(self, file_path: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.file_path = file_path or getattr(settings, "SMS_FILE_PATH", None)
        if not self.file_path:
            raise ValueError("SMS_FILE_PATH must name the file of the SMS file backend.")

    def send_messages(self, messages: list[SmsMessage]) -> int:
        lines = "".join(
            json.dumps({"to": m.to, "body": m.body, "at": timezone.now().isoformat()}) + "\n"
            for m in messages
        )
        with self._lock:
            # Created 0600, and narrowed to 0600 if it was made wider by hand: the
            # file holds full numbers. O_APPEND keeps concurrent writers' lines whole.
            fd = os.open(self.file_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.fchmod(fd, 0o600)
                os.write(fd, lines.encode())
            finally:
                os.close(fd)
        return len(messages)


outbox: list[SmsMessage] = []


class LocmemBackend(BaseSmsBackend):
    """Test backend: messages are appended to `appointments.sms.outbox`."""

    _lock = threading.Lock()

    def send_messages(self, messages: list[SmsMessage]) -> int:
        with self._lock:
            outbox.extend(messages)
        return len(messages)


def get_backend(backend: str | None = None, **kwargs) -> BaseSmsBackend:
    path = backend or getattr(settings, "SMS_BACKEND", DEFAULT_BACKEND)
    return import_string(path)(**kwargs)


def send_sms(to: str, body: str, backend: BaseSmsBackend | None = None) -> int:
    return (backend or get_backend()).send_messages([SmsMessage(to=to, body=body)])
