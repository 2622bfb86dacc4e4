"""Mosquitto password hashes for the password file, computed on the controller.

Mosquitto 2.0's format is `$7$<iterations>$<base64 salt>$<base64 PBKDF2-SHA512>`, what
`mosquitto_passwd` writes. The salt comes from the secrets folder, so the same
password gives the same line and the file only changes when a password does.
"""

from __future__ import annotations

import base64
import hashlib

ITERATIONS = 101  # mosquitto_passwd 2.0's default


def ressenti_mosquitto_hash(password: str, salt: str, iterations: int = ITERATIONS) -> str:
    salt_bytes = salt.encode()[:12]
    if len(salt_bytes) < 12:
        raise ValueError("the salt must be at least 12 characters")
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt_bytes, iterations)
    return f"$7${iterations}${base64.b64encode(salt_bytes).decode()}${base64.b64encode(digest).decode()}"


class FilterModule:
    def filters(self) -> dict:
        return {"ressenti_mosquitto_hash": ressenti_mosquitto_hash}
