"""Logging setup: one line per event, meter/top-up ids as fields, tokens masked.

A filter on the root handler rewrites anything that looks like a 20-digit token
(with or without spaces, dashes or dots) to ``****-****-****-****-1234`` — a second line of
defence; the code already logs only masked tokens.
"""

from __future__ import annotations

import logging
import re
import sys

from tokenmeter.domain import mask_token

# 20 digits with up to three spaces, dashes or dots between them: every grouping
# ``normalize_token`` accepts from a user (``1923.4567.…``, ``1923 - 4567 - …``)
_TOKEN_RE = re.compile(r"(?<!\d)(?:\d[\s.\-]{0,3}){19}\d(?!\d)")
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def mask_tokens(text: str) -> str:
    """Replace every token-like run of 20 digits with its masked form."""
    return _TOKEN_RE.sub(lambda m: mask_token(m.group(0)), text)


class TokenMaskingFilter(logging.Filter):
    """Mask token digits in the fully formatted message (args included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        masked = mask_tokens(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class ContextFormatter(logging.Formatter):
    """Append ``meter=`` / ``topup=`` when a record carries them (``extra={...}``)."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = [
            f"{name}={getattr(record, name)}"
            for name in ("meter", "topup")
            if getattr(record, name, None)
        ]
        return f"{line} [{' '.join(fields)}]" if fields else line


def setup_logging(level: str = "INFO") -> None:
    """Configure the root logger once: stderr, masked, with context fields."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(ContextFormatter(FORMAT))
    handler.addFilter(TokenMaskingFilter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "apscheduler", "google", "matplotlib"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # urllib3 repeats every Firebase retry; the store logs one line of its own.
    logging.getLogger("urllib3").setLevel(logging.ERROR)
