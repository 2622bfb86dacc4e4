"""`ressenti kiosk run` starts the touch front-end when configured, and only then imports Kivy."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.touch import testing

ROOT = Path(__file__).parent.parent


def write_config(tmp_path: Path, frontends: str, broker_url: str, extra: str = "") -> Path:
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'kiosk = "borne-tactile-1"\nsite = "mairie"\ndata_dir = "{tmp_path / "data"}"\n'
        f"frontends = {frontends}\nclock = \"ntp\"\nmock_pins = true\n"
        f'[broker]\nurl = "{broker_url}"\n{extra}')
    return config


@pytest.mark.parametrize(("inputs", "module"), [
    ('["buttons"]', "kivy"),
    # gpiozero is for the buttons and the fault LED: about 2.5 MB a touch kiosk need not carry (issue 4).
    ('["touch"]', "gpiozero"),
])
def test_a_kiosk_never_imports_the_other_front_end(tmp_path, inputs, module):
    config = write_config(tmp_path, inputs, "mqtt://127.0.0.1:1")
    code = (
        "import sys\n"
        "import cli, kiosk.startup\n"
        "from kiosk.config import load_config\n"
        "from kiosk.runner import KioskProcess\n"
        f"process = KioskProcess(load_config({str(config)!r}))\n"
        "process.stop()\n"
        f"assert {module!r} not in sys.modules, '{module} imported by a {inputs} kiosk'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.mosquitto
def test_touch_kiosk_runs_and_stops_on_sigterm(tmp_path, mosquitto, wait):
    if not os.environ.get("DISPLAY"):
        pytest.fail("no DISPLAY: run the touch tests under Xvfb, as ./dev test does")
    (tmp_path / "touch-pin").write_text("97531\n")
    config = write_config(tmp_path, '["touch"]', mosquitto.url,
                          f'[touch]\npin_file = "{tmp_path / "touch-pin"}"\nthanks_s = 2\n')
    environment = {**os.environ, **testing.TEST_ENVIRONMENT}
    environment.pop("RESSENTI_TOUCH_PIN", None)  # the PIN comes from the [touch] table's file
    log = tmp_path / "kiosk.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "kiosk", "run", "--config", str(config)],
            cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT)
        try:
            wait(lambda: "touch screen ready" in log.read_text() or process.poll() is not None,
                 timeout=30, what="the touch screen to come up")
            assert process.poll() is None, log.read_text()[-3000:]
            process.send_signal(signal.SIGTERM)
            process.wait(20)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    text = log.read_text()
    assert process.returncode == 0, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    assert "touch screen ready: 800x480, 4 faces, languages fr,en" in text
    assert "technician screen off" not in text and "RESSENTI_TOUCH_PIN" not in text
