"""A test deployment: one collector host and two kiosks, each a Debian bookworm chroot,
provisioned by the real playbooks twice (the second run must change nothing)."""

from __future__ import annotations

import json
import shutil
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from deploy_support import chroots
from deploy_support.ansible import REPO, PlaybookRun, require_success, run_playbook, write_inventory

SITES = [
    # The inventory owns the name of this one: a run sets it again (the rest is the admin pages').
    {"id": "mairie", "name": "Mairie — accueil", "tz": "Europe/Paris", "scale": 4, "owns": ["name"]},
    {"id": "ccas", "name": "CCAS — accueil social", "scale": 3},
]
KIOSKS = {
    "kiosk-a": {"ressenti_kiosk_id": "test-accueil-a", "ressenti_kiosk_site": "mairie",
                "ressenti_kiosk_frontend": "buttons"},
    "kiosk-b": {"ressenti_kiosk_id": "test-accueil-b", "ressenti_kiosk_site": "ccas",
                "ressenti_kiosk_frontend": "touch", "ressenti_kiosk_screen": "official-7in-flipped"},
}
# Raspberry Pi OS's kernel command line (one line); touch kiosks get consoleblank=0 on it.
CMDLINE = ("console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 "
           "fsck.repair=yes rootwait\n")
# Files and folders of the checkout the wheel is built from (a snapshot, so that
# edits made while the tests run cannot make the second run differ from the first).
SOURCE_SKIP = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__",
                                     ".pytest_cache", "test-artifacts", "demo-data", "deploy", "tests",
                                     "*.db", "*.db-wal", "*.db-shm")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Deployment:
    base: Path
    roots: dict[str, Path]
    secrets: Path
    ports: dict[str, int]
    first: dict[str, PlaybookRun] = field(default_factory=dict)
    second: dict[str, PlaybookRun] = field(default_factory=dict)

    @property
    def collector(self) -> Path:
        return self.roots["collector"]

    def kiosk(self, name: str) -> Path:
        return self.roots[name]

    timings: dict[str, float] = field(default_factory=dict)

    def remove(self) -> None:
        for root in self.roots.values():
            chroots.remove_chroot(root)

    def save(self) -> None:
        (self.base / "deployment.json").write_text(json.dumps(asdict(self), default=str, indent=1))

    @classmethod
    def load(cls, base: Path) -> Deployment:
        """A deployment provisioned earlier (RESSENTI_DEPLOY_TEST_KEEP, for working on the tests)."""
        data = json.loads((base / "deployment.json").read_text())
        runs = {key: {name: PlaybookRun(**run) for name, run in data[key].items()} for key in ("first", "second")}
        return cls(base=Path(data["base"]), roots={k: Path(v) for k, v in data["roots"].items()},
                   secrets=Path(data["secrets"]), ports=data["ports"], timings=data["timings"], **runs)


def _playbooks_side_by_side(names: list[str], inventory: Path, logs: Path, run: int) -> dict[str, PlaybookRun]:
    with ThreadPoolExecutor(len(names)) as pool:
        futures = {name: pool.submit(run_playbook, name, inventory, log_dir=logs, label=f"{name}-run{run}")
                   for name in names}
        return {name: future.result() for name, future in futures.items()}


def provision(base: Path) -> Deployment:
    """Make the chroots and run the playbooks twice; the runs' results are kept for the tests."""
    started = time.monotonic()
    names = ["collector", *KIOSKS]
    with ThreadPoolExecutor(len(names)) as pool:
        roots = dict(zip(names, pool.map(lambda n: chroots.make_chroot(base / n), names), strict=True))
    for name in KIOSKS:  # as on a Raspberry Pi OS Bookworm image
        cmdline = roots[name] / "boot/firmware/cmdline.txt"
        cmdline.parent.mkdir(parents=True, exist_ok=True)
        cmdline.write_text(CMDLINE)
    source = base / "source"
    shutil.copytree(REPO, source, ignore=SOURCE_SKIP, symlinks=True)
    ports = {"broker_tls": free_port(), "broker_local": free_port(), "web": free_port(), "nginx": free_port(),
             "nginx_tls": free_port()}
    secrets = base / "secrets"
    inventory = write_inventory(
        base / "inventory.yml", collector=roots["collector"],
        kiosks={name: {"root": str(roots[name]), **hostvars} for name, hostvars in KIOSKS.items()},
        all_vars={
            "ressenti_sites": SITES,
            # The kiosks' config names the broker by this; it is in the broker's certificate.
            "ressenti_broker_hostname": "localhost",
            "ressenti_secrets_dir": str(secrets),
            "ressenti_app_source_dir": str(source),
            "ressenti_app_build_dir": str(base / "build"),
            # Test servers listen on loopback only, on free ports.
            "ressenti_broker_tls_port": ports["broker_tls"],
            "ressenti_broker_tls_bind_address": "127.0.0.1",
            "ressenti_broker_local_port": ports["broker_local"],
            "ressenti_collector_web_bind": f"127.0.0.1:{ports['web']}",
            "ressenti_collector_nginx_port": ports["nginx"],
            "ressenti_collector_nginx_tls_port": ports["nginx_tls"],
            "ressenti_collector_nginx_listen_address": "127.0.0.1",
            "ressenti_collector_backup_keep": 3,
        })
    deployment = Deployment(base, roots, secrets, ports)
    deployment.timings["chroots"] = time.monotonic() - started
    try:
        _run_playbooks(deployment, inventory)
    except BaseException:
        deployment.remove()  # the logs stay in base/logs
        raise
    deployment.timings["total"] = time.monotonic() - started
    deployment.save()
    return deployment


def _run_playbooks(deployment: Deployment, inventory: Path) -> None:
    logs = deployment.base / "logs"
    # The secrets first (the CA every kiosk trusts, one password per account); then
    # the collector and the kiosks side by side, as two technicians could.
    deployment.timings["secrets.yml"] = require_success(
        run_playbook("secrets.yml", inventory, log_dir=logs, label="secrets.yml")).seconds
    for number, runs in ((1, deployment.first), (2, deployment.second)):
        runs.update(_playbooks_side_by_side(["collector.yml", "kiosks.yml"], inventory, logs, number))
        for name, run in runs.items():
            require_success(run)
            deployment.timings[f"{name} run {number}"] = run.seconds
