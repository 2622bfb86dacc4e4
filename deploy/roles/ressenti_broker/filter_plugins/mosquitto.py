"""Mosquitto password hashes for the password file, computed on the controller.

Mosquitto 2.0's format is `$7$<iterations>$<base64 salt>$<base64 PBKDF2-SHA512>`, what
`mosquitto_passwd` writes. The salt comes from the secrets folder, so the same
password gives the same line and the file only changes when a password does.
"""

from __future__ import annotations

import base64
import hashlib

ITERATIONS = 101  # mosquitto_passwd 2.0's default
SALT_BYTES = 12  # mosquitto_passwd's salt length


def mosquitto_hash(password: str, salt: bytes, iterations: int = ITERATIONS) -> str:
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def ressenti_mosquitto_hash(password: str, salt: str) -> str:
    """The filter: `password | ressenti_mosquitto_hash(salt)`, salt a string of 12+ characters."""
    salt_bytes = salt.strip().encode()[:SALT_BYTES]
    if len(salt_bytes) < SALT_BYTES:
        raise ValueError(f"the salt must be at least {SALT_BYTES} characters")
    return mosquitto_hash(password.strip(), salt_bytes)


class FilterModule:
    def filters(self) -> dict:
        return {"ressenti_mosquitto_hash": ressenti_mosquitto_hash}
