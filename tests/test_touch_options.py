"""The technician PIN: read from its file in production, RESSENTI_TOUCH_PIN in development."""

from __future__ import annotations

import logging

import pytest

from kiosk.touch.options import TouchOptions, technician_pin
from ressenti.errors import BadConfig


def test_the_pin_file_holds_the_pin(tmp_path):
    pin_file = tmp_path / "touch-pin"
    pin_file.write_text("483920\n")
    assert technician_pin(pin_file, environ={}) == "483920"


def test_the_environment_overrides_the_file_with_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        assert technician_pin(tmp_path / "absent", environ={"RESSENTI_TOUCH_PIN": "1357"}) == "1357"
    assert "technician PIN taken from RESSENTI_TOUCH_PIN (development)" in caplog.text
    with pytest.raises(BadConfig, match="4 to 8 digits \\(RESSENTI_TOUCH_PIN\\)"):
        technician_pin(tmp_path / "absent", environ={"RESSENTI_TOUCH_PIN": "12"})


@pytest.mark.parametrize("case, expected", [
    ("missing", "technician screen off: no PIN file"),
    ("unreadable", "technician screen off: cannot read the PIN file"),
    ("too short", "technician screen off: the PIN file {path} must hold 4 to 8 digits (it holds 3"),
    ("not digits", "must hold 4 to 8 digits (it holds 4 characters)"),
    ("empty", "must hold 4 to 8 digits (it holds 0 characters)"),
])
def test_a_bad_pin_file_turns_the_technician_screen_off_and_says_why(tmp_path, caplog, case,
                                                                     expected):
    """Citizens can still rate: the kiosk starts, without its technician screen."""
    pin_file = tmp_path / "touch-pin"
    if case == "unreadable":
        pin_file.mkdir()  # reading a folder fails as a file without read permission does
    elif case != "missing":
        pin_file.write_text({"too short": "123", "not digits": "12ab", "empty": "\n"}[case])
    with caplog.at_level(logging.ERROR):
        assert technician_pin(pin_file, environ={}) is None
    assert expected.format(path=pin_file) in caplog.text
    assert "12ab" not in caplog.text, "never log what the file holds"


def test_fullscreen_flag_for_env_prepare():
    assert TouchOptions().fullscreen_flag is None, "auto: the console decides"
