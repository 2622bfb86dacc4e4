"""`ressenti kiosk press` against a real `kiosk run` process and a real Mosquitto and collector (issue 18)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from kiosk.outbox import peek
from kiosk.press_socket import PressSocket, send_press, socket_path

ROOT = Path(__file__).parent.parent


def write_config(folder: Path, broker_url: str, kiosk: str = "borne-sim") -> Path:
    path = folder / "kiosk.toml"
    path.write_text(f'kiosk = "{kiosk}"\nsite = "mairie"\ndata_dir = "{folder / "d"}"\nclock = "ntp"\n'
                    f'mock_pins = true\n[broker]\nurl = "{broker_url}"\n[settings]\nscale = 4\n')
    return path


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


@pytest.fixture
def running_kiosk(tmp_path, mosquitto, collector_stack, wait):
    """`ressenti kiosk run` on mock pins, registered with a running collector."""
    collector_stack.register("borne-sim")
    collector_stack.start()
    config = write_config(tmp_path, mosquitto.url)
    log = (tmp_path / "kiosk.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "cli", "kiosk", "run", "--config", str(config)],
                               cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    wait(lambda: socket_path(tmp_path / "d").is_socket() or process.poll() is not None, timeout=20,
         what="the press socket")
    assert process.poll() is None, (tmp_path / "kiosk.log").read_text()
    yield config
    process.terminate()
    process.wait(10)
    log.close()


@pytest.mark.mosquitto
def test_presses_from_the_cli_reach_the_collector_like_gpio_presses(tmp_path, running_kiosk, collector_stack,
                                                                    wait):
    path = socket_path(tmp_path / "d")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, "root and the kiosk's user only"

    done = cli("kiosk", "press", "3", "--count", "2", "--interval", "0.05", "--config", str(running_kiosk))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "rating 3 recorded as seq 1; its LED lit"
    assert lines[1] == "rating 3 recorded as seq 2, flagged rapid_repeat; its LED lit", "the kiosk's filter ran"
    assert cli("kiosk", "press", "1", "--config", str(running_kiosk)).returncode == 0

    wait(lambda: collector_stack.summary()["total"] == 3, what="the presses stored by the collector")
    summary = collector_stack.summary()
    assert summary["counts"]["3"] == 2 and summary["counts"]["1"] == 1
    assert summary["filtered"]["total"] == 1, "presses within 4 s of the last are flagged, as from a hand"
    wait(lambda: peek(tmp_path / "d" / "outbox.db").queue.pending == 0, what="the collector's acks")

    wrong = cli("kiosk", "press", "5", "--config", str(running_kiosk))
    assert wrong.returncode == 1
    assert "rating 5 not recorded: rating 5 is not a button of this kiosk (ratings 1 to 4)" in wrong.stderr


def test_the_socket_answers_bad_requests_with_a_reason(tmp_path, running_kiosk):
    import json
    import socket

    path = socket_path(tmp_path / "d")
    for payload, reason in [(b"{not json\n", "not JSON"), (b'{"rating": "3"}\n', 'send {"rating": N}'),
                            (b'{"rating": 99999999999999999999999}\n', "not a button of this kiosk"),
                            (b"[[[[" * 300 + b"\n", "not JSON")]:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(5)
            client.connect(str(path))
            client.sendall(payload)
            answer = json.loads(client.makefile().readline())
        assert answer["ok"] is False and reason in answer["error"], (payload[:20], answer)
    assert send_press(path, 2)["ok"] is True, "still pressing after the bad requests"


def test_press_without_a_running_kiosk_says_how_to_start_it(tmp_path):
    config = write_config(tmp_path, "mqtt://127.0.0.1:1")
    done = cli("kiosk", "press", "2", "--config", str(config))
    assert done.returncode == 1
    assert f"no kiosk is listening on {tmp_path / 'd' / 'press.sock'}: start it first" in done.stderr


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to switch to another uid")
def test_another_user_is_refused_even_past_the_file_mode():
    folder = Path(tempfile.mkdtemp(prefix="ressenti-press-"))
    folder.chmod(0o755)  # reachable by `nobody`, unlike pytest's own folders
    pressed: list[int] = []
    server = PressSocket(socket_path(folder), lambda rating: pressed.append(rating))  # type: ignore[arg-type,return-value]
    server.start()
    try:
        os.chmod(server.path, 0o666)
        read, write = os.pipe()
        child = os.fork()
        if child == 0:  # the child becomes `nobody` and asks for a press
            try:
                os.setgid(65534)
                os.setuid(65534)
                answer = str(send_press(server.path, 2))
            except BaseException as exc:  # noqa: BLE001 (reported to the parent)
                answer = repr(exc)
            os.write(write, answer.encode())
            os._exit(0)
        os.close(write)
        os.waitpid(child, 0)
        with os.fdopen(read) as pipe:
            answer = pipe.read()
    finally:
        server.close()
        shutil.rmtree(folder)
    assert "uid 65534 may not press this kiosk" in answer, answer
    assert pressed == [], "refused before any press"
