"""Run the deploy/ playbooks against test chroots and read what they did."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
VENV_BIN = Path(sys.executable).parent

_RECAP = re.compile(r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
                    r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)", re.M)
_CHANGED_TASK = re.compile(r"^changed: \[(?P<host>[^\]]+)\]", re.M)


def tool(name: str) -> str:
    """An Ansible command from the project's virtual environment (the `deploy` extra)."""
    path = VENV_BIN / name
    if not path.exists():
        pytest.fail(f"{path} is missing: install the deploy extra (pip install -e '.[deploy]')")
    return str(path)


@dataclass
class PlaybookRun:
    playbook: str
    returncode: int
    output: str
    seconds: float
    recap: dict[str, dict[str, int]] = field(default_factory=dict)

    def changed_tasks(self) -> list[str]:
        """The task headers under which something reported "changed"."""
        tasks, current = [], ""
        for line in self.output.splitlines():
            if line.startswith(("TASK [", "RUNNING HANDLER [")):
                current = line.rstrip("* ")
            elif _CHANGED_TASK.match(line):
                tasks.append(f"{current} {line.strip()}")
        return tasks


def run_playbook(playbook: str, inventory: Path, *, log_dir: Path, label: str,
                 timeout: float = 900) -> PlaybookRun:
    """ansible-playbook from deploy/ (its ansible.cfg); the output is kept in `log_dir`."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(DEPLOY / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0",
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_HOST_KEY_CHECKING": "0", "PYTHONUNBUFFERED": "1",
           # Each task's duration in the log (logs/*.log next to the chroots).
           "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks",
           "ANSIBLE_LOCAL_TEMP": str(log_dir / "ansible-tmp"), "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
           # pip in the chroots checks TLS against the chroot's system store, which
           # holds this machine's extra CAs (see chroots.make_chroot).
           "PIP_CERT": "/etc/ssl/certs/ca-certificates.crt"}
    started = time.monotonic()
    result = subprocess.run([tool("ansible-playbook"), "-i", str(inventory), playbook],
                            cwd=DEPLOY, env=env, capture_output=True, text=True, timeout=timeout)
    output = result.stdout + result.stderr
    log_dir.mkdir(parents=True, exist_ok=True)
    (log_dir / f"{label}.log").write_text(output)
    recap = {m["host"]: {k: int(m[k]) for k in ("ok", "changed", "unreachable", "failed")}
             for m in _RECAP.finditer(output)}
    return PlaybookRun(playbook, result.returncode, output, time.monotonic() - started, recap)


def require_success(run: PlaybookRun) -> PlaybookRun:
    if run.returncode != 0:
        pytest.fail(f"{run.playbook} failed ({run.returncode}):\n{run.output[-12000:]}")
    return run


def write_inventory(path: Path, *, collector: Path, kiosks: dict[str, dict[str, str]],
                    all_vars: dict[str, object]) -> Path:
    """A YAML (JSON) inventory: each host is a chroot reached by community.general.chroot."""
    def chroot_host(root: Path, **hostvars: object) -> dict[str, object]:
        return {"ansible_host": str(root), "ansible_connection": "community.general.chroot",
                "ansible_python_interpreter": "/usr/bin/python3", **hostvars}

    inventory = {"all": {"vars": all_vars, "children": {
        "collector": {"hosts": {"collector-host": chroot_host(collector)}},
        "kiosks": {"hosts": {name: chroot_host(Path(v.pop("root")), **v) for name, v in kiosks.items()}},
    }}}
    path.write_text(json.dumps(inventory, indent=2))
    return path
