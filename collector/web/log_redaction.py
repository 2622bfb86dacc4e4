"""Wall tokens out of the logs: `/wall/<token>` is logged as `/wall/~<fingerprint>` (issue 17).

A wall token is the last part of a display's URL, so every access log line of
a display would hold a working read-only credential. The fingerprint is the
first 8 hex digits of the token's SHA-256, which is how the tokens table stores
it: `SELECT id FROM tokens WHERE hash LIKE '<fingerprint>%'` finds the link,
and the digits say nothing about the token itself.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from typing import Any

from gunicorn.glogging import Logger as GunicornLogger  # type: ignore[import-untyped]

# A path segment after /wall/ that is not one of the page's own words.
_WALL_TOKEN = re.compile(r"(/wall/)(?!(?:stream|check)(?![^/?#\s\"']))([^/?#\s\"']+)")
# A barometer slip's single-use code in the staff page's link (/equipe/<team>?code=...): issue 15.
_STAFF_CODE = re.compile(r"(/equipe/[^?\s\"']*\?(?:[^\s\"'#]*&)?code=)[^&\s\"'#]*")
# gunicorn's and the development server's request logs (the app adds its own logger).
LOGGERS = ("gunicorn.access", "gunicorn.error", "werkzeug")


def fingerprint(token: str) -> str:
    return "~" + hashlib.sha256(token.encode()).hexdigest()[:8]


def redact(text: str) -> str:
    if "/equipe/" in text:
        text = _STAFF_CODE.sub(lambda m: m.group(1) + "~", text)
    if "/wall/" not in text:
        return text
    return _WALL_TOKEN.sub(lambda m: m.group(1) + (m.group(2) if m.group(2).startswith("~")
                                                    else fingerprint(m.group(2))), text)


def _redact_value(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactWallTokens(logging.Filter):
    """Rewrites a record's message and arguments (a tuple or gunicorn's mapping of atoms)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, Mapping):
            if isinstance(record.args, dict):
                for key, value in record.args.items():
                    record.args[key] = _redact_value(value)
        elif isinstance(record.args, tuple):
            record.args = tuple(_redact_value(a) for a in record.args)
        return True


_FILTER = RedactWallTokens()


def install(*names: str) -> None:
    """Add the filter to these loggers and LOGGERS (idempotent). A logger's filter sees what is
    logged on that logger itself, not on its children: each is named."""
    for name in (*LOGGERS, *names):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


class RedactingLogger(GunicornLogger):
    """gunicorn's logger with wall tokens out of its access and error lines (`logger_class`)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for logger in (self.access_log, self.error_log):
            if _FILTER not in logger.filters:
                logger.addFilter(_FILTER)
