"""deploy/ and systemd/ checked without a target: lint, syntax, unit file hardening, hash format.

The real runs against Debian chroots are in test_deploy_chroot.py; this file
holds what needs no chroot, so a broken role or unit is named in seconds.
"""

from __future__ import annotations

import base64
import configparser
import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from deploy_support.ansible import DEPLOY, REPO, tool

SYSTEMD = REPO / "systemd"
SERVICES = sorted(SYSTEMD.glob("*.service"))
PLAYBOOKS = ["site.yml", "collector.yml", "kiosks.yml", "secrets.yml"]
# Long-running services (not the oneshot backup and maintenance jobs).
DAEMONS = ["ressenti-kiosk.service", "ressenti-collector-ingest.service", "ressenti-collector-web.service",
           "ressenti-collector-alerts.service"]
HARDENING = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
             "CapabilityBoundingSet": "", "RestrictNamespaces": "yes", "RestrictSUIDSGID": "yes"}


def read_unit(path: Path) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    unit.read(path)
    return unit


def test_ansible_lint_production_profile_is_clean() -> None:
    result = subprocess.run([tool("ansible-lint"), "--profile", "production", "--offline", "--nocolor"],
                            cwd=DEPLOY, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"ansible-lint:\n{result.stdout}\n{result.stderr}"
    assert "Profile 'production' was required, and it passed" in result.stdout + result.stderr


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_playbook_syntax(playbook: str) -> None:
    result = subprocess.run([tool("ansible-playbook"), "--syntax-check", "-i", "inventory/example/hosts.ini",
                             playbook], cwd=DEPLOY, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_example_inventory_gives_every_kiosk_an_id_site_and_frontend() -> None:
    result = subprocess.run([tool("ansible-inventory"), "-i", "inventory/example/hosts.ini", "--list"],
                            cwd=DEPLOY, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    inventory = json.loads(result.stdout)
    kiosks = inventory["kiosks"]["hosts"]
    hostvars = inventory["_meta"]["hostvars"]
    sites = {s["id"] for s in hostvars[kiosks[0]]["ressenti_sites"]}
    assert len(kiosks) >= 2 and inventory["collector"]["hosts"]
    for host in kiosks:
        assert hostvars[host]["ressenti_kiosk_site"] in sites
        assert hostvars[host]["ressenti_kiosk_frontend"] in ("buttons", "touch", "both")
    assert len({hostvars[h]["ressenti_kiosk_id"] for h in kiosks}) == len(kiosks)


@pytest.mark.parametrize("name", DAEMONS)
def test_daemon_units_are_notify_restarting_and_run_as_the_service_user(name: str) -> None:
    service = read_unit(SYSTEMD / name)["Service"]
    assert service["Type"] == "notify"
    assert service["Restart"] == "always"
    assert service["User"] == service["Group"] == "ressenti"


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: p.name)
def test_services_are_hardened(path: Path) -> None:
    service = read_unit(path)["Service"]
    for key, value in HARDENING.items():
        assert service.get(key) == value, f"{path.name}: {key}={service.get(key)!r}, want {value!r}"
    assert service["ReadWritePaths"].split()[0] == "/var/lib/ressenti", "ProtectSystem=strict needs ReadWritePaths"
    assert service["User"] == "ressenti"


def test_watchdog_only_where_the_process_pings_it() -> None:
    # The kiosk (kiosk/runner.py) and ingest (cli/collector.py) send
    # WATCHDOG=1; gunicorn only READY=1, and a WatchdogSec= without pings would
    # kill it every period.
    assert read_unit(SYSTEMD / "ressenti-kiosk.service")["Service"]["WatchdogSec"] == "30s"
    assert read_unit(SYSTEMD / "ressenti-collector-ingest.service")["Service"]["WatchdogSec"] == "60s"
    assert "WatchdogSec" not in read_unit(SYSTEMD / "ressenti-collector-web.service")["Service"]


def test_every_timer_has_a_service_and_every_unit_an_install_section() -> None:
    for timer in SYSTEMD.glob("*.timer"):
        assert timer.with_suffix(".service").exists(), timer.name
        assert read_unit(timer)["Install"]["WantedBy"] == "timers.target"
    for name in DAEMONS:
        assert read_unit(SYSTEMD / name)["Install"]["WantedBy"] == "multi-user.target"


def test_roles_install_the_unit_files_of_systemd_and_not_copies() -> None:
    copies = [p for p in (DEPLOY / "roles").rglob("*") if p.name.startswith("ressenti-")
              and p.suffix in (".service", ".timer", ".conf") and "templates" not in p.parts]
    assert copies == []
    tasks = "".join(p.read_text() for p in (DEPLOY / "roles").rglob("tasks/*.yml"))
    for unit in SYSTEMD.rglob("*"):
        if unit.is_file():
            assert unit.name in tasks or unit.name in (DEPLOY / "roles/ressenti_collector/vars/main.yml").read_text(), \
                f"no role installs systemd/{unit.relative_to(SYSTEMD)}"


def _load_filter_plugin():  # type: ignore[no-untyped-def]
    path = DEPLOY / "roles/ressenti_broker/filter_plugins/mosquitto.py"
    spec = importlib.util.spec_from_file_location("ressenti_mosquitto_filter", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_password_hash_matches_mosquitto_passwd(tmp_path: Path) -> None:
    """The broker role writes hashes itself; they must be what mosquitto_passwd writes."""
    binary = shutil.which("mosquitto_passwd")
    if binary is None:
        pytest.fail("mosquitto_passwd is missing: apt-get install -y mosquitto (see .ci/run)")
    passwd = tmp_path / "passwd"
    subprocess.run([binary, "-c", "-b", str(passwd), "kiosk-1", "s3cret-Pa55"], check=True)
    user, line = passwd.read_text().strip().split(":", 1)
    _, kind, iterations, salt_b64, _ = line.split("$")
    plugin = _load_filter_plugin()
    assert (kind, int(iterations)) == ("7", plugin.ITERATIONS)
    assert plugin.mosquitto_hash("s3cret-Pa55", base64.b64decode(salt_b64)) == line
    assert plugin.mosquitto_hash("wrong", base64.b64decode(salt_b64)) != line
    # The filter itself: deterministic for one salt file, different for another.
    first = plugin.ressenti_mosquitto_hash("pw", "abcdefghijklmnop\n")
    assert first == plugin.ressenti_mosquitto_hash("pw", "abcdefghijklmnop")
    assert first != plugin.ressenti_mosquitto_hash("pw", "ponmlkjihgfedcba")
    with pytest.raises(ValueError):
        plugin.ressenti_mosquitto_hash("pw", "short")


CMDLINE_CASES = {
    # what Raspberry Pi OS wrote -> what the kiosk role leaves
    "fresh image": ("console=serial0,115200 console=tty1 root=PARTUUID=1 rootwait\n",
                    "console=serial0,115200 console=tty1 root=PARTUUID=1 rootwait consoleblank=0\n"),
    "another value": ("console=tty1 consoleblank=600 rootwait\n", "console=tty1 consoleblank=0 rootwait\n"),
    "already set": ("console=tty1 consoleblank=0 rootwait\n", "console=tty1 consoleblank=0 rootwait\n"),
    "trailing space and blank line": ("console=tty1 rootwait \n\n", "console=tty1 rootwait consoleblank=0\n\n"),
}


@pytest.mark.parametrize("case", CMDLINE_CASES)
def test_touch_kiosk_cmdline_gets_consoleblank_0_once(tmp_path: Path, case: str) -> None:
    """The role's cmdline tasks (tasks/cmdline.yml) on a local file, twice: the second changes nothing."""
    before, after = CMDLINE_CASES[case]
    (tmp_path / "firmware").mkdir()
    cmdline = tmp_path / "firmware/cmdline.txt"
    cmdline.write_text(before)
    (tmp_path / "cmdline.txt").write_text("a stub the first file wins over\n")
    playbook = tmp_path / "play.yml"
    playbook.write_text(json.dumps([{
        "hosts": "localhost", "connection": "local", "gather_facts": False,
        "vars": {"ressenti_kiosk_touch": True,
                 "ressenti_kiosk_cmdline_files": [str(cmdline), str(tmp_path / "cmdline.txt")]},
        "tasks": [{"ansible.builtin.import_tasks": str(DEPLOY / "roles/ressenti_kiosk/tasks/cmdline.yml")}],
    }]))
    changed = []
    for _ in range(2):
        result = subprocess.run([tool("ansible-playbook"), "-i", "localhost,", str(playbook),
                                 "-e", f"ansible_python_interpreter={tool('python')}"],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        changed.append(int(result.stdout.split("changed=")[1].split()[0]))
    assert cmdline.read_text() == after
    assert changed == [int(before != after), 0]
    assert (tmp_path / "cmdline.txt").read_text() == "a stub the first file wins over\n"


# -- the alerts' and reports' mail settings, rendered by Ansible -------------------------------


@pytest.fixture(scope="module")
def rendered_inventory(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from deploy_support import render

    base = tmp_path_factory.mktemp("deploy-mail")
    inventory = render.inventory(base, {"box-1": {"ressenti_kiosk_id": "mairie-1", "ressenti_kiosk_site": "mairie",
                                                  "ressenti_kiosk_frontend": "buttons"}},
                                 {"ressenti_broker_hostname": "ressenti.ville.fr",
                                  "ressenti_sites": [{"id": "mairie", "name": "Mairie"}]})
    render.make_secrets(base, inventory)
    return base, inventory


def test_the_role_renders_the_smtp_settings_and_the_public_address(rendered_inventory: tuple[Path, Path]) -> None:
    from deploy_support import render

    base, inventory = rendered_inventory
    assert (base / "secrets/collector/smtp.password").read_text() == "", "made empty, for the organisation's"
    files = render.render_collector(base, inventory, {
        "ressenti_collector_smtp_host": "smtp.ville.fr", "ressenti_collector_smtp_user": "ressenti",
        "ressenti_collector_smtp_from": "alertes-ressenti@ville.fr"}, name="mail")
    mail = render.env_file(files.out / "mail.env")
    assert mail == {"RESSENTI_SMTP_HOST": "smtp.ville.fr", "RESSENTI_SMTP_SECURITY": "starttls",
                    "RESSENTI_SMTP_USER": "ressenti", "RESSENTI_SMTP_FROM": "alertes-ressenti@ville.fr"}
    assert "PASSWORD" not in files.read("mail.env").replace("RESSENTI_SMTP_PASSWORD_FILE", "")
    env = render.env_file(files.out / "collector.env")
    assert env["RESSENTI_BASE_URL"] == "https://ressenti.ville.fr"
    # What the services will parse: the app's own settings parser accepts it (the password comes from the file).
    from collector.alerts.delivery_settings import from_env

    password = base / "password"
    password.write_text("s3cret\n")
    settings = from_env({**mail, "RESSENTI_BASE_URL": env["RESSENTI_BASE_URL"],
                         "RESSENTI_SMTP_PASSWORD_FILE": str(password)})
    assert (settings.smtp_port, settings.smtp_password) == (587, "s3cret")
    nothing = render.render_collector(base, inventory, name="no-mail")
    assert render.env_file(nothing.out / "mail.env") == {}, "no SMTP host: nothing is e-mailed"


@pytest.mark.parametrize(("settings", "refused"), [
    ({"ressenti_collector_smtp_host": "smtp.ville.fr"}, "ressenti_collector_smtp_from"),
    ({"ressenti_collector_smtp_host": "smtp.ville.fr", "ressenti_collector_smtp_from": "alertes@ville.fr",
      "ressenti_collector_smtp_security": "none", "ressenti_collector_smtp_user": "ressenti"}, "in clear"),
    ({"ressenti_collector_smtp_host": "smtp.ville.fr", "ressenti_collector_smtp_from": "alertes@ville.fr"}, None),
], ids=["no from", "password in clear", "good"])
def test_the_role_refuses_smtp_settings_that_would_not_work(rendered_inventory: tuple[Path, Path],
                                                            settings: dict, refused: str | None) -> None:
    from deploy_support import render

    base, inventory = rendered_inventory
    result = render.run_collector_checks(base, inventory, settings)
    if refused is None:
        assert result.returncode == 0, result.stdout[-3000:]
    else:
        assert result.returncode != 0 and refused in result.stdout, result.stdout[-3000:]


def test_the_role_enables_and_starts_the_alerts_service_and_the_reports_timer() -> None:
    import yaml

    tasks = yaml.safe_load((DEPLOY / "roles/ressenti_collector/tasks/services.yml").read_text())
    by_name = {t["name"]: t for t in tasks}
    for name in ("Enable the services and timers at boot", "Start the services and timers"):
        assert {"ressenti-collector-alerts.service", "ressenti-collector-reports.timer"} <= set(by_name[name]["loop"])
    packages = yaml.safe_load((DEPLOY / "roles/ressenti_collector/defaults/main.yml").read_text())
    assert {"libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0", "fonts-dejavu-core"} <= set(
        packages["ressenti_collector_packages"])


@pytest.mark.parametrize(("settings", "url"), [
    ({}, None),
    ({"ressenti_collector_db_engine": "postgresql", "ressenti_collector_db_host": "pg.ville.fr",
      "ressenti_collector_db_port": 5433, "ressenti_collector_db_name": "ressenti_prod",
      "ressenti_collector_db_user": "collecte"}, "postgresql://collecte@pg.ville.fr:5433/ressenti_prod"),
    ({"ressenti_collector_db_engine": "postgresql", "ressenti_collector_db_install": True},
     "postgresql://ressenti@127.0.0.1:5432/ressenti"),
], ids=["sqlite by default", "existing server", "installed here"])
def test_the_role_points_the_services_at_sqlite_or_postgresql(rendered_inventory: tuple[Path, Path],
                                                              settings: dict, url: str | None) -> None:
    from deploy_support import render

    base, inventory = rendered_inventory
    password = (base / "secrets/collector/db.password").read_text().strip()
    assert len(password) == 32 and password.isalnum(), "ressenti_secrets makes a random one"
    files = render.render_collector(base, inventory, settings, name=f"db-{len(settings)}")
    text = files.read("collector.env")
    env = render.env_file(files.out / "collector.env")
    assert password not in text, "the password stays in its own file, never in the environment"
    if url is None:
        assert env["RESSENTI_DATABASE"] == "/var/lib/ressenti/collector.db"
        assert "RESSENTI_DB_PASSWORD_FILE" not in env
    else:
        assert env["RESSENTI_DATABASE"] == url
        assert env["RESSENTI_DB_PASSWORD_FILE"] == "/etc/ressenti/db-password"


@pytest.mark.parametrize(("settings", "refused"), [
    ({"ressenti_collector_db_engine": "mysql"}, "sqlite or postgresql"),
    ({"ressenti_collector_db_engine": "postgresql"}, "ressenti_collector_db_host"),
    ({"ressenti_collector_db_engine": "postgresql", "ressenti_collector_db_install": True,
      "ressenti_collector_db_name": "ressenti; DROP"}, "lower-case letters"),
    ({"ressenti_collector_db_engine": "postgresql", "ressenti_collector_db_host": "pg.ville.fr"}, None),
], ids=["unknown engine", "no server", "bad name", "good"])
def test_the_role_refuses_database_settings_that_would_not_work(rendered_inventory: tuple[Path, Path],
                                                                settings: dict, refused: str | None) -> None:
    from deploy_support import render

    base, inventory = rendered_inventory
    result = render.run_collector_checks(base, inventory, settings)
    if refused is None:
        assert result.returncode == 0, result.stdout[-3000:]
    else:
        assert result.returncode != 0 and refused in result.stdout, result.stdout[-3000:]
