"""`ressenti kiosk selftest`: a technician answers lit LEDs on MockFactory pins; a real broker is checked."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from click.testing import CliRunner

from cli import main
from kiosk.config import load_config
from kiosk.outbox import peek
from kiosk.selftest import run_selftest
from ressenti.mosquitto_runner import free_port
from ressenti.protocol import Kind, KioskSettings, encode_settings, topic

pytestmark = pytest.mark.mosquitto


class Technician(threading.Thread):
    """Watches the LED pins; when LED n lights, presses the button wired as `wiring[n]` (None: none)."""

    def __init__(self, pins, pinmap, wiring: dict[int, int | None]) -> None:
        super().__init__(daemon=True)
        self.pins, self.pinmap, self.wiring = pins, pinmap, wiring
        self.stop = threading.Event()
        self.start()

    def run(self) -> None:
        for position, pressed in self.wiring.items():
            led = self.pins.pin(self.pinmap.slots[position - 1].led.bcm)
            while not led.state:
                if self.stop.wait(0.01):
                    return
            if pressed is not None:
                button = self.pins.pin(self.pinmap.slots[pressed - 1].button.bcm)
                button.drive_low()
                button.drive_high()
            while led.state:  # the program moves on to the next LED
                if self.stop.wait(0.01):
                    return


def write_config(tmp_path: Path, broker_url: str, scale: int = 4) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(f'kiosk = "borne-test"\nsite = "mairie"\ndata_dir = "{tmp_path / "data"}"\n'
                    f'clock = "ntp"\nmock_pins = true\n[broker]\nurl = "{broker_url}"\n'
                    f"[settings]\nscale = {scale}\n")
    return path


def test_everything_answers_so_the_report_is_ok_and_nothing_is_recorded(tmp_path, mosquitto, mock_factory,
                                                                         pinmap):
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect(mosquitto.address.host, mosquitto.address.port)
    client.loop_start()
    client.publish(topic("mairie", "borne-test", Kind.CONFIG), encode_settings(KioskSettings(rev=3, scale=4)),
                   qos=1, retain=True).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()
    config = load_config(write_config(tmp_path, mosquitto.url))
    technician = Technician(mock_factory, pinmap, {1: 1, 2: 2, 3: 3, 4: 4})
    lines: list[str] = []
    ok = run_selftest(config, pin_factory=mock_factory, button_timeout_s=5, say=lines.append)
    technician.stop.set()
    report = "\n".join(" ".join(line.split()) for line in lines)  # without the column padding
    assert ok, report
    for position in range(1, 5):
        assert f"Press the lit button {position}" in report
        assert f"[OK ] button {position}" in report
    assert f"[OK ] broker connected to {mosquitto.url} in" in report
    assert "config rev 3" in report
    assert "[OK ] clock synchronised by NTP" in report
    assert "[OK ] outbox no outbox yet" in report
    assert "[LOOK] status LED" in report
    assert report.endswith("Result: OK (0 failed) / Résultat : OK (0 en échec)")
    assert peek(config.outbox_path) is None, "the self-test records nothing"


def test_crossed_wires_a_dead_button_and_no_broker_fail_with_what_to_check(tmp_path, mock_factory, pinmap):
    config = load_config(write_config(tmp_path, f"mqtt://127.0.0.1:{free_port()}", scale=3))
    technician = Technician(mock_factory, pinmap, {1: 1, 2: 3, 3: None})
    lines: list[str] = []
    ok = run_selftest(config, pin_factory=mock_factory, button_timeout_s=0.5, say=lines.append)
    technician.stop.set()
    report = "\n".join(" ".join(line.split()) for line in lines)  # without the column padding
    assert not ok
    assert "[OK ] button 1" in report
    assert ("[FAIL] button 2 button 3 pressed while LED 2 was lit: crossed wires? check button GPIO 6 "
            "(header pin 31), LED GPIO 27 (pin 13)") in report
    assert "[FAIL] button 3 no press in 0.5 s: check button GPIO 13" in report
    assert "button 4" not in report, "a 3-face box has 3 buttons"
    assert "[FAIL] broker cannot connect to mqtt://127.0.0.1:" in report
    assert "Result: FAIL (3 failed)" in report


def test_pins_in_use_by_the_running_kiosk_say_so(tmp_path, mosquitto, mock_factory, pinmap):
    from gpiozero import LED
    held = LED(pinmap.slots[0].led.bcm, pin_factory=mock_factory)  # the kiosk service holds the pins
    config = load_config(write_config(tmp_path, mosquitto.url))
    lines: list[str] = []
    assert not run_selftest(config, pin_factory=mock_factory, button_timeout_s=0.1, say=lines.append)
    held.close()
    assert "systemctl stop ressenti-kiosk" in "\n".join(lines)


def test_cli_selftest_on_mock_pins_presses_the_lit_buttons_itself(tmp_path, mosquitto):
    result = CliRunner().invoke(main, ["kiosk", "selftest", "--config", str(write_config(tmp_path, mosquitto.url)),
                                       "--timeout", "2"])
    assert result.exit_code == 0, result.output
    for position in (1, 2, 3, 4):
        assert re.search(rf"\[OK  \] button {position} +pressed by the self-test itself \(mock pins\)",
                         result.output), result.output
    assert "[OK  ] broker" in result.output and "Result: OK (0 failed)" in result.output


def test_cli_selftest_prints_the_report_and_exits_1_on_failure(tmp_path):
    result = CliRunner().invoke(main, ["kiosk", "selftest", "--config",
                                       str(write_config(tmp_path, f"mqtt://127.0.0.1:{free_port()}")),
                                       "--timeout", "0.1"])
    assert result.exit_code == 1, result.output
    assert "[OK  ] button 1" in result.output and "[FAIL] broker" in result.output
    assert "Result: FAIL (1 failed)" in result.output
