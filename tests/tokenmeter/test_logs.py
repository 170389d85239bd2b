"""Tests for tokenmeter.logs."""

from __future__ import annotations

import logging

import pytest

from tokenmeter.logs import TokenMaskingFilter, mask_tokens, setup_logging


def test_mask_tokens_masks_plain_and_grouped_tokens() -> None:
    """A 20-digit token is masked whether written plain or in groups."""
    assert mask_tokens("tok 12345678901234567890 ok") == "tok ****-****-****-****-7890 ok"
    assert mask_tokens("1234-5678-9012-3456-7890") == "****-****-****-****-7890"
    assert mask_tokens("1234 5678 9012 3456 7890.") == "****-****-****-****-7890."
    assert mask_tokens("'text': '1234.5678.9012.3456.7890'") == "'text': '****-****-****-****-7890'"
    assert mask_tokens("1234 - 5678 - 9012 - 3456 - 7890") == "****-****-****-****-7890"


def test_mask_tokens_leaves_other_numbers() -> None:
    """Readings, ids and 19- or 21-digit runs are left alone."""
    text = "kwh=123.45 id=20261120T215700Z 1234567890123456789 123456789012345678901"
    assert mask_tokens(text) == text


def test_filter_masks_arguments(caplog: pytest.LogCaptureFixture) -> None:
    """A token passed as a logging argument never reaches the output."""
    logger = logging.getLogger("tokenmeter.test.mask")
    logger.addFilter(TokenMaskingFilter())
    with caplog.at_level(logging.INFO, logger="tokenmeter.test.mask"):
        logger.info("typing %s now", "11112222333344445555")
    assert "11112222333344445555" not in caplog.text
    assert "****-****-****-****-5555" in caplog.text


def test_setup_logging_adds_context_and_masks(capsys: pytest.CaptureFixture[str]) -> None:
    """The root handler writes meter/top-up fields and masks tokens."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    try:
        setup_logging("INFO")
        logging.getLogger("tokenmeter.x").info(
            "token %s", "99998888777766665555", extra={"meter": "rumah", "topup": "t1"}
        )
        err = capsys.readouterr().err
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)
    assert "****-****-****-****-5555" in err and "99998888777766665555" not in err
    assert "[meter=rumah topup=t1]" in err
