"""The playbooks, run for real against Debian bookworm chroots, then what they left behind.

One collector host and two kiosks (a button box, a touchscreen) are made with
debootstrap (cached as a tarball, see deploy_support/chroots.py) and provisioned
by deploy/secrets.yml, collector.yml and kiosks.yml through Ansible's
community.general.chroot connection; then both playbooks run again and must
change nothing. The tests look at users, files, rendered configuration and unit
symlinks, run `systemd-analyze verify` inside the chroots, and start the
installed software: the Mosquitto configuration the broker role rendered
(Debian's mosquitto 2.0 from the chroot), the ingest, gunicorn and nginx.

Slow (minutes on a cold machine, see docs/provisioning.md): it runs in CI all the
same; without debootstrap or root it fails and says what is missing.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import socket
import sqlite3
import ssl
import subprocess
import threading
import time
import tomllib
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from deploy_support.ansible import REPO, require_success, run_playbook
from deploy_support.chroots import run_in
from deploy_support.deployment import CMDLINE, KIOSKS, SITES, Deployment, provision
from deploy_support.mqtt_clients import TestClient
from deploy_support.processes import wait_for_port

from ressenti.mqtt import parse_broker_url
from ressenti.protocol import encode_batch, encode_status, format_ts, utc_now

SYSTEMD = REPO / "systemd"
KIOSK_A, KIOSK_B = (KIOSKS[name]["ressenti_kiosk_id"] for name in ("kiosk-a", "kiosk-b"))
SITE_A, SITE_B = (KIOSKS[name]["ressenti_kiosk_site"] for name in ("kiosk-a", "kiosk-b"))


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    # RESSENTI_DEPLOY_TEST_KEEP=/some/dir provisions there once and keeps it, so that
    # work on these tests does not wait minutes per try (delete the folder to redo).
    keep = os.environ.get("RESSENTI_DEPLOY_TEST_KEEP")
    if keep and (Path(keep) / "deployment.json").exists():
        yield Deployment.load(Path(keep))
        return
    base = Path(keep) if keep else tmp_path_factory.mktemp("deployment")
    base.mkdir(parents=True, exist_ok=True)
    deployed = provision(base)
    print(f"\ndeployment timings (s): {json.dumps({k: round(v) for k, v in deployed.timings.items()})}")
    yield deployed
    if not keep:
        deployed.remove()


# -- helpers -------------------------------------------------------------------------


def passwd_entry(root: Path, user: str) -> list[str]:
    for line in (root / "etc/passwd").read_text().splitlines():
        if line.startswith(f"{user}:"):
            return line.split(":")
    raise AssertionError(f"no user {user} in {root}/etc/passwd")


def group_members(root: Path, group: str) -> list[str] | None:
    """Members of a group of the chroot, None when there is no such group."""
    for line in (root / "etc/group").read_text().splitlines():
        name, _, _, members = line.split(":")
        if name == group:
            return [m for m in members.split(",") if m]
    return None


def owner(root: Path, path: str) -> tuple[str, str, str]:
    """(user, group, octal mode) of a file in the chroot, names looked up in the chroot."""
    st = (root / path.lstrip("/")).stat()
    users = {int(line.split(":")[2]): line.split(":")[0] for line in (root / "etc/passwd").read_text().splitlines()}
    groups = {int(line.split(":")[2]): line.split(":")[0] for line in (root / "etc/group").read_text().splitlines()}
    return users[st.st_uid], groups[st.st_gid], f"{st.st_mode & 0o7777:04o}"


def env_file(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))


def start_in_chroot(root: Path, argv: list[str], *, user: str | None = None,
                    env: dict[str, str] | None = None) -> subprocess.Popen:
    prefix = ["chroot"] + ([f"--userspec={user}:{user}"] if user else []) + [str(root)]
    command = ["/usr/bin/env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
               *(f"{k}={v}" for k, v in (env or {}).items()), *argv]
    return subprocess.Popen(prefix + command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


# -- the runs ------------------------------------------------------------------------


def test_first_runs_change_every_host_and_fail_none(deployment: Deployment) -> None:
    collector, kiosks = deployment.first["collector.yml"], deployment.first["kiosks.yml"]
    assert set(collector.recap) == {"collector-host"} and set(kiosks.recap) == set(KIOSKS)
    for run in (collector, kiosks):
        for host, counts in run.recap.items():
            assert counts["failed"] == counts["unreachable"] == 0, host
            assert counts["changed"] > 10, f"{host}: a first run on a bare system changes things"


def test_second_runs_change_nothing(deployment: Deployment) -> None:
    for name, run in deployment.second.items():
        changed = {host: counts["changed"] for host, counts in run.recap.items()}
        assert set(changed.values()) == {0}, f"{name} is not idempotent: {changed}\n" + "\n".join(run.changed_tasks())


# -- users and files -----------------------------------------------------------------


@pytest.mark.parametrize("host", ["collector", *KIOSKS])
def test_services_have_a_dedicated_user_without_login(deployment: Deployment, host: str) -> None:
    root = deployment.roots[host]
    _, _, uid, _, _, home, shell = passwd_entry(root, "ressenti")
    assert int(uid) < 1000, "a system user"
    assert (home, shell) == ("/var/lib/ressenti", "/usr/sbin/nologin")
    assert owner(root, "/var/lib/ressenti") == ("ressenti", "ressenti", "0750")
    assert owner(root, "/etc/ressenti") == ("root", "ressenti", "0750")
    assert (root / "opt/ressenti/venv/bin/ressenti").is_file()


def test_kiosk_users_join_the_groups_of_their_front_end(deployment: Deployment) -> None:
    buttons, touch = deployment.kiosk("kiosk-a"), deployment.kiosk("kiosk-b")
    assert "ressenti" in (group_members(buttons, "gpio") or [])
    assert "ressenti" not in (group_members(touch, "gpio") or [])
    for group in ("video", "render", "input"):
        assert "ressenti" in (group_members(touch, group) or []), group
        assert "ressenti" not in (group_members(buttons, group) or []), group


def test_kiosk_config_is_rendered_from_the_inventory(deployment: Deployment) -> None:
    for name, hostvars in KIOSKS.items():
        root = deployment.kiosk(name)
        assert owner(root, "/etc/ressenti/kiosk.toml") == ("root", "ressenti", "0640")
        config = tomllib.loads((root / "etc/ressenti/kiosk.toml").read_text())
        frontend = hostvars["ressenti_kiosk_frontend"]
        assert config["kiosk"] == hostvars["ressenti_kiosk_id"]
        assert config["site"] == hostvars["ressenti_kiosk_site"]
        assert config["frontends"] == [frontend]
        assert config["data_dir"] == "/var/lib/ressenti" and config["mock_pins"] is False
        scale = next(s["scale"] for s in SITES if s["id"] == hostvars["ressenti_kiosk_site"])
        assert config["settings"]["scale"] == scale
        assert config["broker"] == {
            "url": f"mqtts://localhost:{deployment.ports['broker_tls']}",
            "username": hostvars["ressenti_kiosk_id"],
            "password_file": "/etc/ressenti/broker-password",
            "ca_file": "/etc/ressenti/ca.crt",
        }
        secret = (deployment.secrets / f"mqtt/{hostvars['ressenti_kiosk_id']}.password").read_text()
        assert (root / "etc/ressenti/broker-password").read_text() == secret
        assert owner(root, "/etc/ressenti/broker-password") == ("root", "ressenti", "0640")
        assert (root / "etc/ressenti/ca.crt").read_bytes() == (deployment.secrets / "pki/ca.crt").read_bytes()


def test_the_installed_kiosk_accepts_its_config(deployment: Deployment) -> None:
    """The firmware's own config loader, run inside the chroot as the service user."""
    for name, hostvars in KIOSKS.items():
        result = run_in(deployment.kiosk(name), "/opt/ressenti/venv/bin/ressenti", "kiosk", "status",
                        "--config", "/etc/ressenti/kiosk.toml", user="ressenti")
        status = json.loads(result.stdout)
        assert (status["kiosk"], status["site"]) == (hostvars["ressenti_kiosk_id"], hostvars["ressenti_kiosk_site"])


def test_touch_kiosk_gets_kivy_and_the_display_settings(deployment: Deployment) -> None:
    touch, buttons = deployment.kiosk("kiosk-b"), deployment.kiosk("kiosk-a")
    kivy = env_file(touch / "etc/ressenti/kivy.env")
    assert kivy["KCFG_GRAPHICS_FULLSCREEN"] == "auto" and kivy["SDL_VIDEODRIVER"] == "kmsdrm"
    assert kivy["KCFG_GRAPHICS_ROTATION"] == "180"  # official-7in-flipped
    assert kivy["KIVY_HOME"].startswith("/var/lib/ressenti/")
    dropin = "etc/systemd/system/ressenti-kiosk.service.d/touch.conf"
    assert (touch / dropin).read_bytes() == (SYSTEMD / "ressenti-kiosk.service.d/touch.conf").read_bytes()
    assert not (buttons / dropin).exists() and not (buttons / "etc/ressenti/kivy.env").exists()
    run_in(touch, "/opt/ressenti/venv/bin/python", "-c", "import kivy", env={"KIVY_NO_ARGS": "1",
                                                                           "KIVY_HOME": "/tmp/kivy"})
    # Button boxes get gpiozero but not kivy, which is large.
    run_in(buttons, "/opt/ressenti/venv/bin/python", "-c", "import gpiozero")
    assert run_in(buttons, "/opt/ressenti/venv/bin/python", "-c", "import kivy", check=False).returncode != 0


def test_touch_kiosk_gets_its_technician_pin_from_the_secrets(deployment: Deployment) -> None:
    touch, buttons = deployment.kiosk("kiosk-b"), deployment.kiosk("kiosk-a")
    secret = (deployment.secrets / f"touch/{KIOSK_B}.pin").read_text()
    assert re.fullmatch(r"[0-9]{6}\n", secret), "six digits, made once by ressenti_secrets"
    assert (deployment.secrets / f"touch/{KIOSK_B}.pin").stat().st_mode & 0o777 == 0o600
    assert (touch / "etc/ressenti/touch-pin").read_text() == secret
    assert owner(touch, "/etc/ressenti/touch-pin") == ("root", "ressenti", "0640")
    config = tomllib.loads((touch / "etc/ressenti/kiosk.toml").read_text())
    assert config["touch"] == {"pin_file": "/etc/ressenti/touch-pin", "sound": False,
                               "idle_after_s": 60, "thanks_s": 3}
    # The installed firmware, as the service user, reads it (group ressenti, mode 0640).
    read = run_in(touch, "/opt/ressenti/venv/bin/python", "-c",
                  "from pathlib import Path; from kiosk.touch.options import technician_pin; "
                  "print(technician_pin(Path('/etc/ressenti/touch-pin'), {}))", user="ressenti")
    assert read.stdout.strip() == secret.strip()
    # A button box has neither the PIN nor a [touch] table, and no PIN is made for it.
    assert not (buttons / "etc/ressenti/touch-pin").exists()
    assert "touch" not in tomllib.loads((buttons / "etc/ressenti/kiosk.toml").read_text())
    assert not (deployment.secrets / f"touch/{KIOSK_A}.pin").exists()


def test_touch_kiosk_console_never_blanks_the_panel(deployment: Deployment) -> None:
    """consoleblank=0 appended once to cmdline.txt (the second run changed nothing: see above)."""
    touch, buttons = deployment.kiosk("kiosk-b"), deployment.kiosk("kiosk-a")
    assert (touch / "boot/firmware/cmdline.txt").read_text() == CMDLINE.rstrip("\n") + " consoleblank=0\n"
    assert (buttons / "boot/firmware/cmdline.txt").read_text() == CMDLINE, "button boxes keep theirs"
    changed = [task for run in deployment.second.values() for task in run.changed_tasks()]
    assert not changed, changed


def test_kiosk_system_settings(deployment: Deployment) -> None:
    root = deployment.kiosk("kiosk-a")
    watchdog = (root / "etc/systemd/system.conf.d/ressenti-watchdog.conf").read_text()
    assert "RuntimeWatchdogSec=15" in watchdog
    journal = (root / "etc/systemd/journald.conf.d/ressenti.conf").read_text()
    assert "SystemMaxUse=64M" in journal
    assert "NTP=0.fr.pool.ntp.org" in (root / "etc/systemd/timesyncd.conf.d/ressenti.conf").read_text()
    assert (root / "lib/systemd/systemd-timesyncd").exists()


# -- units -----------------------------------------------------------------------------


UNITS = {
    "kiosk-a": {"ressenti-kiosk.service": "multi-user.target", "systemd-timesyncd.service": "sysinit.target"},
    "kiosk-b": {"ressenti-kiosk.service": "multi-user.target"},
    "collector": {"ressenti-collector-ingest.service": "multi-user.target",
                  "ressenti-collector-web.service": "multi-user.target",
                  "ressenti-collector-alerts.service": "multi-user.target",
                  "ressenti-collector-reports.timer": "timers.target",
                  "ressenti-collector-backup.timer": "timers.target",
                  "ressenti-collector-maintenance.timer": "timers.target",
                  "mosquitto.service": "multi-user.target", "nginx.service": "multi-user.target"},
}


@pytest.mark.parametrize("host", UNITS)
def test_units_are_the_repository_files_and_enabled(deployment: Deployment, host: str) -> None:
    root = deployment.roots[host]
    for unit, target in UNITS[host].items():
        link = root / f"etc/systemd/system/{target}.wants/{unit}"
        assert link.is_symlink(), f"{unit} is not enabled ({link} is missing)"
        if unit.startswith("ressenti-"):
            assert os.readlink(link) == f"/etc/systemd/system/{unit}"
            assert (root / f"etc/systemd/system/{unit}").read_bytes() == (SYSTEMD / unit).read_bytes()


def test_systemd_analyze_verify_every_unit(deployment: Deployment) -> None:
    """Every file of systemd/ verified where it is installed, with its user and binaries present."""
    verified = set()
    for host, root in deployment.roots.items():
        for unit in sorted((root / "etc/systemd/system").glob("ressenti-*")):
            if unit.is_dir():
                continue
            result = run_in(root, "systemd-analyze", "verify", f"/etc/systemd/system/{unit.name}", check=False)
            output = (result.stdout + result.stderr).strip()
            assert result.returncode == 0 and "ressenti" not in output, f"{host} {unit.name}:\n{output}"
            verified.add(unit.name)
    assert verified == {p.name for p in SYSTEMD.glob("*.*") if p.is_file()}  # drop-ins load with their unit


# -- collector ---------------------------------------------------------------------------


def test_collector_registers_the_inventory(deployment: Deployment) -> None:
    root = deployment.collector
    sites = run_in(root, "/opt/ressenti/venv/bin/ressenti", "collector", "site", "list",
                   "--db", "/var/lib/ressenti/collector.db", user="ressenti").stdout
    for site in SITES:
        assert f"{site['id']}\t" in sites and site["name"] in sites
    db = sqlite3.connect(root / "var/lib/ressenti/collector.db")
    kiosks = dict(db.execute("SELECT id, site FROM kiosks").fetchall())
    db.close()
    assert kiosks == {KIOSK_A: SITE_A, KIOSK_B: SITE_B}
    assert owner(root, "/var/lib/ressenti/collector.db")[:2] == ("ressenti", "ressenti")


def test_collector_has_a_first_admin_with_the_password_of_the_secrets(deployment: Deployment) -> None:
    users = run_in(deployment.collector, "/opt/ressenti/venv/bin/ressenti", "collector", "user", "list",
                   "--db", "/var/lib/ressenti/collector.db", user="ressenti").stdout
    assert users.startswith("admin\tadmin\t"), users  # the password is checked by logging in, below


def test_collector_environment_is_private_and_complete(deployment: Deployment) -> None:
    root = deployment.collector
    assert owner(root, "/etc/ressenti/collector.env") == ("root", "root", "0600")
    env = env_file(root / "etc/ressenti/collector.env")
    assert env["RESSENTI_DATABASE"] == "/var/lib/ressenti/collector.db"
    assert env["RESSENTI_SECRET_KEY"] == (deployment.secrets / "collector/secret_key").read_text().strip()
    assert "RESSENTI_BROKER_URL" not in env, "each service has its own broker account"
    for service in ("ingest", "web"):
        assert owner(root, f"/etc/ressenti/{service}-broker.env") == ("root", "root", "0600")
        broker = parse_broker_url(env_file(root / f"etc/ressenti/{service}-broker.env")["RESSENTI_BROKER_URL"])
        assert (broker.host, broker.port, broker.username) == ("127.0.0.1", deployment.ports["broker_local"],
                                                               f"ressenti_{service}")
        assert broker.password == (deployment.secrets / f"mqtt/ressenti_{service}.password").read_text().strip()
        unit = (root / f"etc/systemd/system/ressenti-collector-{service}.service").read_text()
        assert f"EnvironmentFile=/etc/ressenti/{service}-broker.env" in unit
    # HTTPS by default (the deployment CA's certificate): a Secure cookie; nginx is one proxy hop.
    assert (env["RESSENTI_SESSION_COOKIE_SECURE"], env["RESSENTI_PROXY_HOPS"]) == ("true", "1")
    gunicorn = (root / "etc/ressenti/gunicorn.conf.py").read_text()
    assert "from collector.web.gunicorn_conf import *" in gunicorn and "threads = 32" in gunicorn
    # Alert e-mails and reports: the public address, SMTP settings and a root-only password file.
    assert env["RESSENTI_BASE_URL"] == "https://localhost"
    assert owner(root, "/etc/ressenti/mail.env") == ("root", "root", "0600")
    assert owner(root, "/etc/ressenti/smtp-password") == ("root", "root", "0600")
    for unit in ("ressenti-collector-alerts.service", "ressenti-collector-reports.service"):
        text = (root / f"etc/systemd/system/{unit}").read_text()
        assert "EnvironmentFile=-/etc/ressenti/mail.env" in text
        assert "LoadCredential=smtp-password:/etc/ressenti/smtp-password" in text


def test_collector_has_what_weasyprint_needs_to_render_a_report(deployment: Deployment) -> None:
    root = deployment.collector
    result = run_in(root, "/opt/ressenti/venv/bin/python", "-c",
                    "import weasyprint; print(len(weasyprint.HTML(string='<p>Rapport</p>').write_pdf()))",
                    user="ressenti", check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout.strip()) > 500


def test_secrets_stay_on_the_controller_and_out_of_the_repository(deployment: Deployment) -> None:
    assert not (deployment.collector / "etc/mosquitto/ressenti/ca.key").exists()
    assert oct(deployment.secrets.stat().st_mode & 0o777) == "0o700"
    for path in deployment.secrets.rglob("*"):
        if path.is_file():
            assert path.stat().st_mode & 0o077 == 0 or path.suffix == ".crt", f"{path} is readable by others"
    ignored = subprocess.run(["git", "check-ignore", "-q", "deploy/inventory/example/secrets/pki/ca.key"],
                             cwd=REPO)
    assert ignored.returncode == 0, "deploy/.gitignore must keep the example inventory's secrets out of git"


def test_nightly_backup_makes_a_checked_copy_and_rotates(deployment: Deployment) -> None:
    root = deployment.collector
    backups = root / "var/backups/ressenti"
    for day in ("20200101", "20200102", "20200103"):  # older backups, to be rotated out (keep = 3)
        (backups / f"collector-{day}T023000Z.db.gz").write_bytes(b"old")
    env = env_file(root / "etc/ressenti/backup.env")
    run_in(root, "/usr/local/sbin/ressenti-backup", user="ressenti", env=env)
    kept = sorted(p.name for p in backups.iterdir())
    assert len(kept) == 3 and "collector-20200101T023000Z.db.gz" not in kept, kept
    newest = backups / kept[-1]
    assert not newest.name.startswith("collector-2020")
    copy = root / "tmp/restored.db"
    copy.write_bytes(gzip.decompress(newest.read_bytes()))
    db = sqlite3.connect(copy)
    assert {row[0] for row in db.execute("SELECT id FROM sites")} == {s["id"] for s in SITES}
    db.close()


def test_nginx_configuration_is_valid(deployment: Deployment) -> None:
    root = deployment.collector
    result = run_in(root, "nginx", "-t", check=False)
    assert result.returncode == 0, result.stderr
    assert (root / "etc/nginx/sites-enabled/ressenti").is_symlink()
    assert not (root / "etc/nginx/sites-enabled/default").exists()


# -- the broker, started from the configuration the role rendered ---------------------------


@pytest.fixture(scope="module")
def broker(deployment: Deployment) -> Iterator[subprocess.Popen]:
    """Debian's mosquitto 2.0, inside the collector chroot, with /etc/mosquitto as the playbook left it."""
    root = deployment.collector
    for folder in ("run/mosquitto", "var/log/mosquitto"):
        run_in(root, "install", "-d", "-o", "mosquitto", "-m", "0750", f"/{folder}")
    process = start_in_chroot(root, ["/usr/sbin/mosquitto", "-c", "/etc/mosquitto/mosquitto.conf"])
    try:
        wait_for_port(deployment.ports["broker_local"], process, "mosquitto")
        wait_for_port(deployment.ports["broker_tls"], process, "mosquitto")
        yield process
    finally:
        stop(process)


class Fleet:
    """Clients with the credentials the playbooks installed."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.clients: list[TestClient] = []

    def collector(self, client_id: str = "test-collector", service: str = "ingest") -> TestClient:
        """A client with the broker account of ingest (or of the web: `service="web"`)."""
        url = env_file(self.deployment.collector / f"etc/ressenti/{service}-broker.env")["RESSENTI_BROKER_URL"]
        broker = parse_broker_url(url)
        client = self._keep(TestClient(client_id, username=broker.username, password=broker.password))
        assert client.connect(broker.host, broker.port), client.refusal
        return client

    def kiosk(self, name: str, *, client_id: str | None = None, password: str | None = None,
              connect: bool = True) -> TestClient:
        """A client as the kiosk's firmware makes it, from the kiosk's own config files."""
        root = self.deployment.kiosk(name)
        config = tomllib.loads((root / "etc/ressenti/kiosk.toml").read_text())["broker"]
        secret = (root / config["password_file"].lstrip("/")).read_text().strip()
        client = self._keep(TestClient(client_id or f"ressenti-kiosk-{config['username']}",
                                       username=config["username"], password=password or secret,
                                       ca_file=str(root / config["ca_file"].lstrip("/"))))
        if connect:
            url = parse_broker_url(config["url"])
            assert client.connect(url.host, url.port), client.refusal
        return client

    def _keep(self, client: TestClient) -> TestClient:
        self.clients.append(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.close()


@pytest.fixture
def fleet(deployment: Deployment, broker: subprocess.Popen) -> Iterator[Fleet]:
    fleet = Fleet(deployment)
    yield fleet
    fleet.close()


def topic(site: str, kiosk: str, kind: str) -> str:
    return f"ressenti/v1/{site}/{kiosk}/{kind}"


def marker(what: str) -> bytes:
    return f"{what}-{uuid.uuid4()}".encode()


def test_kiosk_publishes_its_events_and_status_to_the_collector(fleet: Fleet) -> None:
    collector = fleet.collector()
    collector.subscribe("ressenti/v1/+/+/events")
    collector.subscribe("ressenti/v1/+/+/status")
    kiosk = fleet.kiosk("kiosk-a")
    events, status = marker("events"), marker("status")
    kiosk.publish(topic(SITE_A, KIOSK_A, "events"), events)
    kiosk.publish(topic(SITE_A, KIOSK_A, "status"), status, retain=True)
    assert collector.wait_for(events) and collector.wait_for(status)


def test_kiosk_cannot_publish_as_another_kiosk(fleet: Fleet) -> None:
    collector = fleet.collector()
    collector.subscribe("ressenti/v1/+/+/events")
    collector.subscribe("ressenti/v1/+/+/status")
    kiosk_a = fleet.kiosk("kiosk-a")
    forged = [marker("forged-events"), marker("forged-status"), marker("forged-ack")]
    kiosk_a.publish(topic(SITE_B, KIOSK_B, "events"), forged[0])
    kiosk_a.publish(topic(SITE_B, KIOSK_B, "status"), forged[1])
    kiosk_a.publish(topic(SITE_A, KIOSK_A, "ack"), forged[2])  # kiosks never write acks
    # Mosquitto drops a denied publish silently (a 3.1.1 client still gets its PUBACK):
    # an allowed message sent after the forged ones arrives, the forged ones do not.
    after = marker("after")
    kiosk_a.publish(topic(SITE_A, KIOSK_A, "events"), after)
    assert collector.wait_for(after)
    assert not any(collector.got(m) for m in forged), collector.messages


def test_kiosk_cannot_read_another_kiosks_ack_config_or_events(fleet: Fleet) -> None:
    collector, web = fleet.collector(), fleet.collector("test-web", service="web")
    collector.subscribe("ressenti/v1/+/+/events")
    kiosk_a, kiosk_b = fleet.kiosk("kiosk-a"), fleet.kiosk("kiosk-b")
    for kind in ("ack", "config"):
        kiosk_b.subscribe(topic(SITE_B, KIOSK_B, kind))
        kiosk_a.subscribe(topic(SITE_A, KIOSK_A, kind))
    kiosk_a.subscribe(topic(SITE_B, KIOSK_B, "ack"))
    kiosk_a.subscribe(topic(SITE_B, KIOSK_B, "config"))
    kiosk_a.subscribe("ressenti/v1/#")
    ack_b, config_b, events_b = marker("ack-b"), marker("config-b"), marker("events-b")
    collector.publish(topic(SITE_B, KIOSK_B, "ack"), ack_b)
    web.publish(topic(SITE_B, KIOSK_B, "config"), config_b, retain=True)
    kiosk_b.publish(topic(SITE_B, KIOSK_B, "events"), events_b)
    # B gets its own ack and config and the collector B's events: they were delivered.
    assert kiosk_b.wait_for(ack_b) and kiosk_b.wait_for(config_b) and collector.wait_for(events_b)
    ack_a = marker("ack-a")
    collector.publish(topic(SITE_A, KIOSK_A, "ack"), ack_a)
    assert kiosk_a.wait_for(ack_a), "kiosk A reads its own ack"
    assert not any(kiosk_a.got(m) for m in (ack_b, config_b, events_b)), kiosk_a.messages


def test_connections_without_valid_credentials_are_refused(deployment: Deployment, fleet: Fleet) -> None:
    port, local = deployment.ports["broker_tls"], deployment.ports["broker_local"]
    ca = str(deployment.kiosk("kiosk-a") / "etc/ressenti/ca.crt")
    anonymous = fleet._keep(TestClient("anonymous", ca_file=ca))
    assert not anonymous.connect("localhost", port), "anonymous access must be off"
    assert anonymous.refusal and "authorized" in anonymous.refusal.lower(), anonymous.refusal
    assert not fleet._keep(TestClient("anonymous-local")).connect("127.0.0.1", local)
    wrong = fleet.kiosk("kiosk-a", password="not-the-password", connect=False)
    assert not wrong.connect("localhost", port)
    plain = fleet._keep(TestClient("plain", username=KIOSK_A,
                                   password=(deployment.secrets / f"mqtt/{KIOSK_A}.password").read_text().strip()))
    assert not plain.connect("127.0.0.1", port, timeout=5), "the kiosks' listener speaks TLS only"


def test_kiosk_accounts_do_not_open_the_loopback_listener(deployment: Deployment, fleet: Fleet) -> None:
    """Per-listener accounts: a stolen kiosk's password cannot reach ingest's session on 127.0.0.1."""
    ingest = fleet.collector(client_id="ressenti-ingest-1")
    secret = (deployment.secrets / f"mqtt/{KIOSK_A}.password").read_text().strip()
    intruder = fleet._keep(TestClient("ressenti-ingest-1", username=KIOSK_A, password=secret))
    assert not intruder.connect("127.0.0.1", deployment.ports["broker_local"])
    assert not ingest.disconnected.wait(1), "the kiosk's attempt threw ingest off"


def test_a_kiosk_cannot_take_over_the_collectors_session(fleet: Fleet) -> None:
    """On the kiosks' listener the username replaces the client id."""
    collector = fleet.collector(client_id="ressenti-ingest-1")
    fleet.kiosk("kiosk-a", client_id="ressenti-ingest-1")
    assert not collector.disconnected.wait(1.5), "the kiosk's connection threw the collector off"


class Session:
    """A browser's cookies and forms, enough to log in to the collector's pages."""

    def __init__(self, base_url: str, ca_file: Path) -> None:
        self.base_url = base_url
        self.cookies = urllib.request.HTTPCookieProcessor()
        self.opener = urllib.request.build_opener(
            self.cookies, urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=str(ca_file))))

    def get(self, path: str) -> str:
        with self.opener.open(self.base_url + path, timeout=10) as response:
            return response.read().decode()

    def login(self, login: str, password: str) -> None:
        form = self.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token, f"no CSRF token in the login form:\n{form[:2000]}"
        data = urllib.parse.urlencode({"csrf_token": token[1], "login": login, "password": password}).encode()
        # As a browser does (Referrer-Policy: same-origin): over HTTPS the CSRF check wants it.
        request = urllib.request.Request(self.base_url + "/login", data=data,
                                         headers={"Referer": self.base_url + "/login"})
        with self.opener.open(request, timeout=10) as response:
            assert response.status == 200, response.status


def test_installed_collector_acks_a_kiosk_and_shows_it_online_on_the_fleet_page(
        deployment: Deployment, fleet: Fleet) -> None:
    """The runbook's last step, with the installed services: ingest with its EnvironmentFile,
    gunicorn (gthread) with its settings, nginx in front; the admin made by the playbook logs in."""
    root = deployment.collector
    env = env_file(root / "etc/ressenti/collector.env")
    ingest_env, web_env = ({**env, **env_file(root / f"etc/ressenti/{s}-broker.env")} for s in ("ingest", "web"))
    run_in(root, "install", "-d", "-o", "ressenti", "-m", "0750", "/run/ressenti-web")
    services = [
        start_in_chroot(root, ["/opt/ressenti/venv/bin/ressenti", "collector", "ingest"], user="ressenti",
                        env=ingest_env),
        start_in_chroot(root, ["/opt/ressenti/venv/bin/gunicorn", "--config", "/etc/ressenti/gunicorn.conf.py",
                               "--chdir", "/var/lib/ressenti", "collector.web.wsgi:app"],
                        user="ressenti", env={**web_env, "HOME": "/var/lib/ressenti"}),
        start_in_chroot(root, ["nginx", "-g", "daemon off;"]),
    ]
    ingest, web, nginx = services
    try:
        kiosk = fleet.kiosk("kiosk-a")
        kiosk.subscribe(topic(SITE_A, KIOSK_A, "ack"))
        epoch = str(uuid.uuid4())
        event = {"id": str(uuid.uuid4()), "seq": 1, "ts": format_ts(utc_now()), "clock": "ntp",
                 "boot": "b", "up_ms": 1000, "question": "overall", "scale": 4, "rating": 4,
                 "input": "button", "flags": [], "followup": None, "lang": "fr"}
        batch = encode_batch(kiosk=KIOSK_A, site=SITE_A, epoch=epoch, boot="b", up_ms=2000, events=[event])

        def acked(messages: list[tuple[str, bytes]]) -> bool:
            return any(t.endswith("/ack") and json.loads(p).get("epoch") == epoch and json.loads(p)["through"] == 1
                       for t, p in messages)

        # Resent until the ingest, starting, has subscribed (as the kiosk's link does).
        deadline = time.monotonic() + 30
        while not kiosk.wait_until(acked, timeout=1):
            assert ingest.poll() is None, "the installed ingest exited"
            assert time.monotonic() < deadline, f"no ack from the installed ingest: {kiosk.messages}"
            kiosk.publish(topic(SITE_A, KIOSK_A, "events"), batch)
        kiosk.publish(topic(SITE_A, KIOSK_A, "status"), retain=True, payload=encode_status(
            state="online", ts=format_ts(utc_now()), version="test", config_rev=0, clock="ntp", uptime_s=60,
            queue={"pending": 0, "oldest_ts": None, "dropped": 0}))

        wait_for_port(deployment.ports["web"], web, "gunicorn", timeout=60)
        wait_for_port(deployment.ports["nginx_tls"], nginx, "nginx")
        # HTTPS with the certificate ressenti_secrets signed (the browser trusts the deployment's CA).
        browser = Session(f"https://localhost:{deployment.ports['nginx_tls']}",
                          ca_file=deployment.secrets / "pki/ca.crt")
        assert {s["id"] for s in json.loads(browser.get("/api/v1/sites"))} == {s["id"] for s in SITES}
        admin_password = (deployment.secrets / "collector/admin.password").read_text().strip()
        browser.login("admin", admin_password)
        assert all(cookie.secure for cookie in browser.cookies.cookiejar), "the session cookie is Secure"
        deadline = time.monotonic() + 20
        while True:
            page = browser.get("/fleet")
            row = re.search(rf'<tr data-kiosk="{KIOSK_A}">(.*?)</tr>', page, re.S)
            assert row, f"kiosk {KIOSK_A} is not on the fleet page:\n{page[:3000]}"
            if 'class="state online"' in row[1]:
                break
            assert time.monotonic() < deadline, f"kiosk {KIOSK_A} never shows online:\n{row[1]}"
            threading.Event().wait(0.5)
    finally:
        for process in reversed(services):
            stop(process)
    db = sqlite3.connect(root / "var/lib/ressenti/collector.db")
    stored = db.execute("SELECT count(*) FROM events WHERE kiosk = ? AND epoch = ?", (KIOSK_A, epoch)).fetchone()
    db.close()
    assert stored == (1,)


class DripServer:
    """Stands in for gunicorn on its port: sends one small chunk, then holds the response open."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_server(("127.0.0.1", port))
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.done = threading.Event()
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
            body = b"event: snapshot\ndata: {}\n\n"
            conn.sendall(b"%x\r\n%s\r\n" % (len(body), body))
            self.done.wait(10)  # an event stream stays open

    def close(self) -> None:
        self.done.set()
        self.sock.close()
        self.thread.join(2)


def first_bytes_within(port: int, path: str, seconds: float, ca_file: Path) -> bytes:
    """What reaches a client through nginx (HTTPS) within `seconds` after the response starts."""
    context = ssl.create_default_context(cafile=str(ca_file))
    with context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=seconds),
                             server_hostname="localhost") as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        received = b""
        deadline = time.monotonic() + seconds
        while b"snapshot" not in received and time.monotonic() < deadline:
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            received += chunk
        return received


def test_nginx_passes_event_streams_unbuffered(deployment: Deployment) -> None:
    """The setting in the configuration nginx loads, and an event through it at once.

    (nginx 1.22 happened to forward this small chunk promptly on a buffered path
    too, so the live check alone cannot tell the settings apart: hence `nginx -T`.)
    """
    root = deployment.collector
    loaded = run_in(root, "nginx", "-T").stdout
    stream = loaded[loaded.index("location ~ ^/.+/stream$"):]
    stream = stream[:stream.index("}")]
    assert "proxy_buffering off;" in stream and "proxy_cache off;" in stream
    assert "proxy_read_timeout 12h;" in stream
    upstream = DripServer(deployment.ports["web"])
    nginx = start_in_chroot(root, ["nginx", "-g", "daemon off;"])
    try:
        wait_for_port(deployment.ports["nginx_tls"], nginx, "nginx")
        received = first_bytes_within(deployment.ports["nginx_tls"], "/wall/some-token/stream", 3,
                                      deployment.secrets / "pki/ca.crt")
        assert b"event: snapshot" in received, received
        # Logged when the stream ends (the stand-in closes it after 10 s).
        access_log = root / "var/log/nginx/ressenti.access.log"
        deadline = time.monotonic() + 20
        while "/stream" not in access_log.read_text():
            assert time.monotonic() < deadline, access_log.read_text()
            threading.Event().wait(0.2)
        log = access_log.read_text()
        assert "/wall/<redacted>/stream" in log and "some-token" not in log, log
    finally:
        stop(nginx)
        upstream.close()


def test_nginx_serves_https_with_the_deployments_certificate_and_plain_http_only_redirects(
        deployment: Deployment) -> None:
    root, ports = deployment.collector, deployment.ports
    assert (root / "etc/nginx/ressenti.crt").read_bytes() == (deployment.secrets / "pki/web.crt").read_bytes()
    assert owner(root, "/etc/nginx/ressenti.key") == ("root", "root", "0600")
    loaded = run_in(root, "nginx", "-T").stdout
    assert 'add_header Strict-Transport-Security "max-age=31536000" always;' in loaded
    assert "log_format ressenti" in loaded
    nginx = start_in_chroot(root, ["nginx", "-g", "daemon off;"])
    try:
        wait_for_port(ports["nginx_tls"], nginx, "nginx")
        plain = http.client.HTTPConnection("127.0.0.1", ports["nginx"], timeout=10)
        plain.request("GET", "/login")
        response = plain.getresponse()
        assert (response.status, response.getheader("Location")) == (
            301, f"https://127.0.0.1:{ports['nginx_tls']}/login")
        plain.close()
        context = ssl.create_default_context(cafile=str(deployment.secrets / "pki/ca.crt"))
        secure = http.client.HTTPSConnection("localhost", ports["nginx_tls"], context=context, timeout=10)
        secure.request("GET", "/login")
        response = secure.getresponse()  # 502: gunicorn is not running here; the header comes all the same
        assert response.getheader("Strict-Transport-Security") == "max-age=31536000"
        secure.close()
    finally:
        stop(nginx)


def site_rows(root: Path) -> dict[str, tuple]:
    db = sqlite3.connect(root / "var/lib/ressenti/collector.db")
    rows = {r[0]: r[1:] for r in db.execute("SELECT id, name, scale, tz, opening_hours FROM sites")}
    db.close()
    return rows


def test_a_new_run_keeps_what_the_admin_pages_changed(deployment: Deployment) -> None:
    """Issue 18: an admin changes sites and retires a kiosk; collector.yml runs again and undoes
    only the field the inventory owns (`owns: [name]` on the first site)."""
    root = deployment.collector

    def cli(*args: str) -> None:
        run_in(root, "/opt/ressenti/venv/bin/ressenti", "collector", *args[:2], "--db",
               "/var/lib/ressenti/collector.db", *args[2:], user="ressenti")

    hours = '{"mon": "08:30-12:00,13:30-17:00"}'
    cli("site", "update", SITE_B, "--scale", "5", "--name", "CCAS (renamed by an admin)", "--hours", hours)
    cli("site", "update", SITE_A, "--scale", "5", "--name", "Renamed by an admin")
    cli("kiosk", "retire", KIOSK_B)
    try:
        run = require_success(run_playbook("collector.yml", deployment.base / "inventory.yml",
                                           log_dir=deployment.base / "logs", label="collector.yml-after-admin"))
        rows = site_rows(root)
        assert rows[SITE_B] == ("CCAS (renamed by an admin)", 5, "Europe/Paris", hours), "the admin's changes stay"
        owned = next(s for s in SITES if s["id"] == SITE_A)
        assert rows[SITE_A][:2] == (owned["name"], 5), "the owned name is the inventory's again, the scale the admin's"
        db = sqlite3.connect(root / "var/lib/ressenti/collector.db")
        retired = db.execute("SELECT retired FROM kiosks WHERE id = ?", (KIOSK_B,)).fetchone()[0]
        db.close()
        assert retired is not None, "a kiosk the admin retired stays retired"
        assert [t for t in run.changed_tasks() if "collector-host" in t] == [
            "TASK [ressenti_collector : Set again the fields the inventory owns on registered sites] "
            "changed: [collector-host] => (item=mairie)"], run.changed_tasks()
    finally:  # as the first runs left them, for whatever runs next
        cli("kiosk", "add", KIOSK_B, "--site", SITE_B)
        cli("site", "update", SITE_B, "--scale", str(next(s["scale"] for s in SITES if s["id"] == SITE_B)),
            "--name", next(s["name"] for s in SITES if s["id"] == SITE_B), "--hours", "null")
        cli("site", "update", SITE_A, "--scale", str(owned_scale()))


def owned_scale() -> int:
    return int(next(s["scale"] for s in SITES if s["id"] == SITE_A))
