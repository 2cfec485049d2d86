"""Writes a local .env with generated secrets for development and tests, once.
Production provides its own environment; nothing here is used there."""

import base64
import os
import secrets
import sys
from pathlib import Path

path = Path(sys.argv[1] if len(sys.argv) > 1 else ".env")
if path.exists():
    sys.exit(0)
keyring = "1:" + base64.b64encode(os.urandom(32)).decode()
backup_keyring = "1:" + base64.b64encode(os.urandom(32)).decode()
path.write_text(
    f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
    f"SECRETARIAT_KEYRING={keyring}\n"
    f"AUDIT_SIGNING_KEY={secrets.token_urlsafe(32)}\n"
    f"BACKUP_KEYRING={backup_keyring}\n"
)
path.chmod(0o600)
print(f"wrote {path} with generated development secrets")
