"""The README's "Running the parts separately" commands run with what the step before them installs (issue 18).

Each command is run for real (in a scratch folder, on free ports) with an audit hook that
records every module it imports; the distributions those modules come from must all be in
the extras that the README's preceding `./dev` step installs (read from ./dev and
pyproject.toml). A command that needs, say, gunicorn or Kivy while the README says
`./dev demo` is enough fails here.
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import re
import shutil
import signal
import subprocess
import time
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ressenti.mosquitto_runner import free_port

ROOT = Path(__file__).parent.parent
SECTION = "## Running the parts separately"

TRACER = '''
import os, sys
_seen = set()
_out = os.environ["RESSENTI_TRACE_IMPORTS"]
def _hook(event, args):
    if event == "import":
        top = args[0].partition(".")[0]
        if top not in _seen:
            _seen.add(top)
            with open(_out, "a") as f:
                f.write(top + "\\n")
sys.addaudithook(_hook)
'''


def section() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index(SECTION)
    end = readme.find("\n## ", start + len(SECTION))
    return readme[start:end if end > 0 else None]


def preceding_steps(text: str) -> list[str]:
    """The `./dev X` steps the README names before its first command block."""
    steps = re.findall(r"`\./dev (\w+)`", text[:text.index("```")])
    assert steps, "the section says which ./dev step makes .venv"
    return steps


def extras_of_step(step: str) -> list[str]:
    """What `./dev STEP` installs: the argument of `ensure_venv` in its case branch."""
    script = (ROOT / "dev").read_text()
    branch = re.search(rf"^\s*{step}\)\n(.*?)\n\s*;;", script, re.S | re.M)
    assert branch, f"./dev has no {step} branch"
    [extras] = re.findall(r"ensure_venv (\S+)", branch.group(1))
    return extras.split(",")


def closure(extras: list[str]) -> set[str]:
    """Every distribution `ressenti[extras]` brings, transitively (pyproject.toml, then installed metadata)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    optional = project["optional-dependencies"]
    wanted: list[Requirement] = [Requirement(r) for r in project["dependencies"]]
    pending, done = list(extras), set()
    while pending:
        extra = pending.pop()
        if extra in done:
            continue
        done.add(extra)
        for spec in optional[extra]:
            requirement = Requirement(spec)
            if canonicalize_name(requirement.name) == "ressenti":
                pending += sorted(requirement.extras)
            else:
                wanted.append(requirement)
    seen: set[str] = set()
    while wanted:
        requirement = wanted.pop()
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for spec in requires:
            dependency = Requirement(spec)
            markers = [{"extra": extra} for extra in (requirement.extras or {""})]
            if dependency.marker is None or any(dependency.marker.evaluate(m) for m in markers):
                wanted.append(dependency)
    return seen


def blocks(text: str) -> list[list[tuple[list[str], str, bool]]]:
    """Per sh block of the section: (exports in force, command, runs in the background with `&`)."""
    found = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        exports: list[str] = []
        lines = []
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if not line:
                continue
            if line.startswith("export "):
                exports.append(line)
                continue
            lines.append((list(exports), line.removesuffix("&").strip(), line.endswith("&")))
        found.append(lines)
    return found


def distributions(modules: set[str]) -> set[str]:
    owners = metadata.packages_distributions()
    return {canonicalize_name(d) for m in modules for d in owners.get(m, [])} - {"ressenti"}


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """A folder that looks like the checkout: .venv, the example config (its data_dir moved here)."""
    folder = tmp_path_factory.mktemp("newcomer")
    (folder / ".venv").symlink_to(ROOT / ".venv")
    example = ROOT / "docs/examples/kiosk-dev.toml"
    target = folder / "docs/examples/kiosk-dev.toml"
    target.parent.mkdir(parents=True)
    text = example.read_text()
    assert re.search(r'^data_dir = "[^"]+"', text, re.M)
    text = re.sub(r'^data_dir = "[^"]+"', f'data_dir = "{folder / "kiosk-data"}"', text, flags=re.M)
    target.write_text(text.replace(":1883", f":{free_port()}"))  # no broker of the machine's
    (folder / "tracer").mkdir()
    (folder / "tracer" / "sitecustomize.py").write_text(TRACER)
    return folder


class Traced:
    """One README command, run with the import hook; stopped once it has stopped importing."""

    def __init__(self, scratch: Path, exports: list[str], command: str, name: str, ports: dict[str, str]) -> None:
        self.command = command
        self.trace = scratch / f"{name}.imports"
        self.log = scratch / f"{name}.log"
        script = "\n".join([*exports, command])
        for old, new in ports.items():  # free ports: nothing of the machine's is touched
            script = script.replace(old, new)
        env = {**os.environ, "RESSENTI_TRACE_IMPORTS": str(self.trace),
               "PYTHONPATH": f"{scratch / 'tracer'}:{ROOT}", "PATH": "/usr/bin:/bin"}
        env.pop("NOTIFY_SOCKET", None)
        with self.log.open("w") as output:
            self.process = subprocess.Popen(["bash", "-c", script], cwd=scratch, env=env, stdin=subprocess.PIPE,
                                            stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        assert self.process.stdin is not None
        self.process.stdin.write(b"mot-de-passe-demo\nmot-de-passe-demo\n")  # `user add` asks twice
        self.process.stdin.close()

    def settle(self) -> bool:
        """Wait until it exits or stops importing (a service, up); True if it still runs."""
        started, last_size, quiet_since = time.monotonic(), -1, time.monotonic()
        while self.process.poll() is None and time.monotonic() - started < 60:
            size = self.trace.stat().st_size if self.trace.exists() else 0
            if size != last_size:
                last_size, quiet_since = size, time.monotonic()
            elif time.monotonic() - quiet_since > 2.5 and time.monotonic() - started > 4:
                return True
            time.sleep(0.1)
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def result(self, long_running: bool) -> set[str]:
        text = self.log.read_text()
        assert "Traceback" not in text and "No module named" not in text, f"{self.command}:\n{text}"
        if not long_running:
            assert self.process.returncode == 0, f"{self.command} exited {self.process.returncode}:\n{text}"
        return set(self.trace.read_text().split()) if self.trace.exists() else set()


def run_block(scratch: Path, block: list[tuple[list[str], str, bool]], n: int) -> list[tuple[str, set[str]]]:
    """Run a block's commands in order, `&` ones kept running until the block ends, as a shell would."""
    ports = {"8080": str(free_port()), "1883": str(free_port())}
    background: list[Traced] = []
    traced: list[tuple[str, set[str]]] = []
    try:
        for m, (exports, command, in_background) in enumerate(block):
            run = Traced(scratch, exports, command, f"block-{n}-{m}", ports)
            long_running = run.settle()
            if in_background and long_running:
                background.append(run)
                continue
            run.stop()
            traced.append((command, run.result(long_running)))
    finally:
        for run in background:
            run.stop()
    traced += [(run.command, run.result(True)) for run in background]
    return traced


def test_the_section_names_its_step_and_the_demo_step_is_one_of_them():
    assert "demo" in preceding_steps(section())


def test_every_documented_command_needs_only_what_the_preceding_step_installs(scratch):
    if shutil.which("bash") is None:
        pytest.fail("bash is needed")
    text = section()
    found = blocks(text)
    assert sum(len(block) for block in found) >= 9, found
    installed = {step: closure(extras_of_step(step)) for step in preceding_steps(text)}
    missing = []
    for n, block in enumerate(found):
        for command, modules in run_block(scratch, block, n):
            assert modules, f"nothing traced for {command}"
            needed = distributions(modules)
            for step, available in installed.items():
                if needed - available:
                    missing.append(f"`{command}` needs {sorted(needed - available)}, which `./dev {step}` "
                                   f"(extras {extras_of_step(step)}) does not install")
    assert not missing, "\n".join(missing)
