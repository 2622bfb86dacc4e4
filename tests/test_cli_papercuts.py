"""A newcomer's first commands (issue 18): each mistake gets one line that says what to do."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from cli.common import program_name
from ressenti.mosquitto_runner import free_port, start_mosquitto

ROOT = Path(__file__).parent.parent


class Output:
    """A child process's merged output, read on a thread, so a test can wait for a line."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 20.0) -> re.Match:
        deadline = time.monotonic() + timeout
        tick = threading.Event()
        while time.monotonic() < deadline:
            match = re.search(pattern, self.text)
            if match:
                return match
            if self.process.poll() is not None and not self._thread.is_alive():
                break
            tick.wait(0.05)
        raise AssertionError(f"no {pattern!r} in:\n{self.text}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._thread.join(5)
        return self.process.returncode


def spawn(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> Output:
    process = subprocess.Popen([sys.executable, "-m", "cli", *args], cwd=cwd,
                               env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    return Output(process)


@pytest.mark.mosquitto
def test_collector_run_warns_while_no_broker_answers_then_connects_and_stops_quietly(tmp_path):
    port = free_port()
    run = spawn("collector", "run", "--db", str(tmp_path / "c.db"), "--broker", f"mqtt://127.0.0.1:{port}",
                "--port", "0", env={"RESSENTI_SECRET_KEY": secrets.token_hex(32)})
    broker = None
    try:
        run.wait_for(r"collector: web on http://127\.0\.0\.1:\d+")
        run.wait_for(rf"WARNING .*no MQTT broker answers at mqtt://127\.0\.0\.1:{port}: is Mosquitto running", 15)
        assert run.process.poll() is None, "it keeps running and retrying"
        broker = start_mosquitto(tmp_path / "mosquitto", port=port)
        run.wait_for(rf"broker mqtt://127\.0\.0\.1:{port} reached", 70)
        stopped_from = len(run.lines)
        assert run.stop() == 0
        after = "".join(run.lines[stopped_from:])
        assert "WARNING" not in after and "Traceback" not in after, after
    finally:
        run.stop()
        if broker:
            broker.stop()


def test_collector_ingest_warns_within_seconds_while_no_broker_answers(tmp_path):
    port = free_port()
    ingest = spawn("collector", "ingest", "--db", str(tmp_path / "c.db"), "--broker", f"mqtt://127.0.0.1:{port}")
    try:
        ingest.wait_for(rf"WARNING .*no MQTT broker answers at mqtt://127\.0\.0\.1:{port}", 15)
        assert ingest.process.poll() is None
    finally:
        assert ingest.stop() == 0


@pytest.mark.parametrize("key, said", [("", "is not set"), ("x", "has 1 characters")])
def test_a_short_secret_key_is_refused_with_the_fix(tmp_path, monkeypatch, key, said):
    monkeypatch.setenv("RESSENTI_SECRET_KEY", key)
    result = CliRunner().invoke(main, ["collector", "run", "--db", str(tmp_path / "c.db"),
                                       "--broker", "mqtt://127.0.0.1:1"])
    assert result.exit_code == 2
    assert f"RESSENTI_SECRET_KEY {said}; it needs at least 32 random characters" in result.output
    assert "openssl rand -hex 32" in result.output
    assert not (tmp_path / "c.db").exists(), "refused before anything is opened"


def test_collector_run_on_a_taken_port_names_the_option(tmp_path, monkeypatch):
    import socket

    monkeypatch.setenv("RESSENTI_SECRET_KEY", secrets.token_hex(32))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["collector", "run", "--db", str(tmp_path / "c.db"),
                                           "--broker", "mqtt://127.0.0.1:1", "--port", str(port)])
    assert result.exit_code == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.output and "--port" in result.output


def test_collector_run_help_names_the_secret_key():
    result = CliRunner().invoke(main, ["collector", "run", "-h"])
    assert "RESSENTI_SECRET_KEY" in result.output and "32" in result.output


def test_the_password_minimum_is_said_in_the_prompt_and_before_the_second_typing(tmp_path):
    db = str(tmp_path / "c.db")
    result = CliRunner().invoke(main, ["collector", "user", "add", "--db", db, "chef", "--role", "admin"],
                                input="court\nassez-long-1\nassez-long-1\n")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Password (at least 10 characters):")
    error = result.output.index("5 characters: the password needs at least 10")
    assert error < result.output.index("Repeat for confirmation"), "told before typing it twice"
    assert "user chef added" in result.output


def test_the_program_is_named_as_it_can_be_typed_here(monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.chdir(ROOT)
    script = Path(sys.executable).parent / "ressenti"
    assert script.exists()
    assert program_name() == ".venv/bin/ressenti"
    monkeypatch.setenv("PATH", f"{script.parent}:/usr/bin:/bin")
    assert program_name() == "ressenti"


def test_demo_hint_lock_and_busy_port(tmp_path):
    """The hint names the command as typed here; a second demo on the same folder says who holds it;
    a taken port names --port."""
    data = tmp_path / "demo"
    common = ["--kiosks", "1", "--history-days", "1"]
    first = spawn("demo", "--port", "0", "--data", str(data), *common, env={"PATH": "/usr/bin:/bin"})
    try:
        url = first.wait_for(r"Dashboard / tableau de bord: +http://127\.0\.0\.1:(\d+)/dashboard", 60)
        first.wait_for("Ctrl-C to stop")
        assert "more users: .venv/bin/ressenti collector user add" in first.text, first.text

        second = spawn("demo", "--port", "0", "--data", str(data), *common)
        assert second.process.wait(60) == 1
        second.stop()
        assert f"Error: another demo (process {first.process.pid}) already uses {data}" in second.text
        assert "--data" in second.text and "Traceback" not in second.text

        busy = spawn("demo", "--port", url.group(1), "--data", str(tmp_path / "other"), *common)
        assert busy.process.wait(60) == 1
        busy.stop()
        assert f"port {url.group(1)} on 127.0.0.1 is already in use" in busy.text
        assert "choose another port with --port" in busy.text and "Traceback" not in busy.text
    finally:
        assert first.stop() == 0
    assert "WARNING" not in first.text, first.text
