"""The roles' files rendered on this machine by Ansible itself: the real secrets role, then the
broker's and the collector's templates with their roles' defaults, for a test inventory.

No chroot: a test starts Mosquitto, nginx or gunicorn from what lands in `out`.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from deploy_support.ansible import DEPLOY, VENV_BIN, tool

ROLES = DEPLOY / "roles"
# Loaded in this order, as Ansible would for the collector play (later files win).
VARS_FILES = [ROLES / f"{role}/{kind}/main.yml" for role in ("ressenti_app", "ressenti_broker", "ressenti_collector")
              for kind in ("defaults", "vars")]


@dataclass
class Rendered:
    out: Path
    secrets: Path

    def read(self, name: str) -> str:
        return (self.out / name).read_text()


def _env(base: Path) -> dict[str, str]:
    return {**os.environ, "ANSIBLE_CONFIG": str(DEPLOY / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FILTER_PLUGINS": str(ROLES / "ressenti_broker/filter_plugins"),
            "ANSIBLE_LOCAL_TEMP": str(base / "ansible-tmp"), "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}


def inventory(base: Path, kiosks: dict[str, dict[str, str]], all_vars: dict[str, object]) -> Path:
    """A collector host run locally and kiosk hosts that are never contacted (only their hostvars count)."""
    local = {"ansible_connection": "local", "ansible_python_interpreter": str(VENV_BIN / "python")}
    path = base / "inventory.json"
    path.write_text(json.dumps({"all": {"vars": {"ressenti_secrets_dir": str(base / "secrets"), **all_vars},
                                        "children": {"collector": {"hosts": {"collector-host": local}},
                                                     "kiosks": {"hosts": {k: {**local, **v}
                                                                          for k, v in kiosks.items()}}}}}))
    return path


def run_play(base: Path, inventory_path: Path, tasks: list[dict], extra_vars: dict[str, object] | None = None,
             *, check: bool = True) -> subprocess.CompletedProcess:
    """One play on the collector host with the roles' defaults and vars loaded, as the collector play has them."""
    play = base / f"play-{len(list(base.glob('play-*.json')))}.json"
    play.write_text(json.dumps([{"hosts": "collector", "gather_facts": False,
                                 "vars_files": [str(p) for p in VARS_FILES], "tasks": tasks}]))
    argv = [tool("ansible-playbook"), "-i", str(inventory_path), str(play)]
    if extra_vars:
        argv += ["-e", json.dumps(extra_vars)]
    result = subprocess.run(argv, cwd=DEPLOY, env=_env(base), capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"ansible-playbook {play.name} failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}")
    return result


def make_secrets(base: Path, inventory_path: Path) -> Path:
    """deploy/secrets.yml as the technician runs it: CA, broker and web certificates, passwords."""
    result = subprocess.run([tool("ansible-playbook"), "-i", str(inventory_path), "secrets.yml"], cwd=DEPLOY,
                            env=_env(base), capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise AssertionError(f"secrets.yml failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}")
    return base / "secrets"


def _template(role: str, src: str, dest: str, **task: object) -> dict:
    return {"name": f"render {src}", "ansible.builtin.template": {"src": str(ROLES / role / "templates" / src),
                                                                  "dest": dest, "mode": "0600"}, **task}


def render_broker(base: Path, inventory_path: Path, extra_vars: dict[str, object] | None = None) -> Rendered:
    """The broker role's files: conf.d/ressenti.conf, per-listener password files and ACLs, certificates."""
    out = base / "mosquitto"
    (out / "conf.d").mkdir(parents=True, exist_ok=True)
    pki = base / "secrets/pki"
    tasks = [
        _template("ressenti_broker", "passwd.j2", str(out / "passwd-{{ item.name }}"),
                  loop="{{ ressenti_broker_listener_files }}"),
        _template("ressenti_broker", "acl-{{ item.name }}.j2", str(out / "acl-{{ item.name }}"),
                  loop="{{ ressenti_broker_listener_files }}"),
        _template("ressenti_broker", "ressenti.conf.j2", str(out / "conf.d/ressenti.conf")),
        *({"ansible.builtin.copy": {"src": str(pki / src), "dest": str(out / dest), "mode": "0600"}}
          for src, dest in (("broker.crt", "server.crt"), ("broker.key", "server.key"), ("ca.crt", "ca.crt"))),
    ]
    run_play(base, inventory_path, tasks, {"ressenti_broker_config_dir": str(out), **(extra_vars or {})})
    return Rendered(out, base / "secrets")


def render_collector(base: Path, inventory_path: Path, extra_vars: dict[str, object] | None = None,
                     name: str = "collector") -> Rendered:
    """The collector role's configuration: nginx site, environment files (mail.env too), gunicorn settings,
    certificates."""
    out = base / name
    out.mkdir(parents=True, exist_ok=True)
    settings = {"ressenti_collector_config_dir": str(out), "ressenti_collector_nginx_conf_dir": str(out),
                "ressenti_collector_web_runtime_dir": str(out), **(extra_vars or {})}
    tasks = [
        _template("ressenti_collector", "nginx-site.conf.j2", str(out / "nginx-site.conf")),
        _template("ressenti_collector", "collector.env.j2", str(out / "collector.env")),
        _template("ressenti_collector", "broker.env.j2", str(out / "{{ item.service }}-broker.env"),
                  loop=[{"service": "ingest", "username": "{{ ressenti_collector_ingest_broker_username }}"},
                        {"service": "web", "username": "{{ ressenti_collector_web_broker_username }}"}]),
        _template("ressenti_collector", "gunicorn.conf.py.j2", str(out / "gunicorn.conf.py")),
        _template("ressenti_collector", "mail.env.j2", str(out / "mail.env")),
        {"ansible.builtin.copy": {"src": "{{ item.src }}", "dest": str(out) + "/{{ item.dest }}", "mode": "0600"},
         "loop": [{"src": "{{ ressenti_collector_tls_cert_file }}", "dest": "ressenti.crt"},
                  {"src": "{{ ressenti_collector_tls_key_file }}", "dest": "ressenti.key"},
                  {"src": "{{ ressenti_collector_tls_cert_file }}", "dest": "web.crt"},
                  {"src": "{{ ressenti_collector_tls_key_file }}", "dest": "web.key"}],
         "when": "ressenti_collector_tls | bool"},
    ]
    run_play(base, inventory_path, tasks, settings)
    return Rendered(out, base / "secrets")


def run_collector_checks(base: Path, inventory_path: Path,
                         extra_vars: dict[str, object]) -> subprocess.CompletedProcess:
    """The collector role's own checks (tasks/checks.yml), which run before it installs anything."""
    return run_play(base, inventory_path,
                    [{"ansible.builtin.import_tasks": str(ROLES / "ressenti_collector/tasks/checks.yml")}],
                    extra_vars, check=False)


def env_file(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))
