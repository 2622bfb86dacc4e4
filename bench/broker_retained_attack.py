"""What a stolen kiosk can leave on the broker: 200 retained messages of 200 KB under invented sites.

The broker role's files are rendered by Ansible for a three-kiosk test inventory
(as tests/test_security_broker.py does); Mosquitto runs once with the ACL of the
previous release (one `+` at the site level, one account and ACL for both
listeners: the baseline) and once with the rendered one. Printed: the broker's
resident memory before and after the attack, and what a collector that subscribes
afterwards receives from the retained store.

    PYTHONPATH=$PWD .venv/bin/python bench/broker_retained_attack.py [--messages 200] [--size 200000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from deploy_support import render  # noqa: E402
from deploy_support.mqtt_clients import TestClient  # noqa: E402

from ressenti.mosquitto_runner import free_port, start_mosquitto  # noqa: E402

KIOSKS = {f"box-{n}": {"ressenti_kiosk_id": f"mairie-{n}", "ressenti_kiosk_site": "mairie",
                       "ressenti_kiosk_frontend": "buttons"} for n in (1, 2, 3)}
# The previous release's ACL (deploy/roles/ressenti_broker/templates/acl.j2), one file for both listeners.
PREVIOUS_ACL = """user ressenti_ingest
topic read ressenti/v1/+/+/events
topic read ressenti/v1/+/+/status
topic write ressenti/v1/+/+/ack
topic write ressenti/v1/+/+/config
topic readwrite ressenti/v1/_live/#
pattern write ressenti/v1/+/%u/events
pattern write ressenti/v1/+/%u/status
pattern read ressenti/v1/+/%u/ack
pattern read ressenti/v1/+/%u/config
"""


def previous_conf(files: render.Rendered, local_port: int) -> Path:
    """The rendered conf with the previous release's single password file and ACL."""
    old = files.out / "previous"
    (old / "conf.d").mkdir(parents=True, exist_ok=True)
    (old / "acl").write_text(PREVIOUS_ACL)
    (old / "passwd").write_text(files.read("passwd-kiosks") + files.read("passwd-local"))
    conf = files.read("conf.d/ressenti.conf").replace("per_listener_settings true", "")
    head, tail = conf.split(f"listener {local_port}")
    tail = "\n".join(line for line in tail.splitlines()
                     if not line.startswith(("allow_", "password_file", "acl_file")))
    conf = (head + f"listener {local_port}" + tail + "\n").replace("passwd-kiosks", "previous/passwd")
    (old / "conf.d/ressenti.conf").write_text(conf.replace("acl-kiosks", "previous/acl"))
    return old / "conf.d"


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def attack(files: render.Rendered, conf_dir: Path, ports: dict[str, int], work: Path, messages: int,
           size: int) -> dict[str, float]:
    broker = start_mosquitto(work, f"include_dir {conf_dir}\n", port=ports["local"], default_listener=False)
    try:
        threading.Event().wait(0.5)
        before = rss_kb(broker.process.pid)
        secret = (files.secrets / "mqtt/mairie-1.password").read_text().strip()
        stolen = TestClient("stolen", username="mairie-1", password=secret, ca_file=str(files.out / "ca.crt"))
        assert stolen.connect("localhost", ports["tls"]), stolen.refusal
        payload = b"x" * size
        for n in range(messages):
            stolen.publish(f"ressenti/v1/invented-{n}/mairie-1/status", payload, retain=True)
        stolen.close()
        threading.Event().wait(0.5)
        after = rss_kb(broker.process.pid)
        ingest_secret = (files.secrets / "mqtt/ressenti_ingest.password").read_text().strip()
        ingest = TestClient(f"ingest-{uuid.uuid4().hex[:6]}", username="ressenti_ingest", password=ingest_secret)
        assert ingest.connect("127.0.0.1", ports["local"]), ingest.refusal
        ingest.subscribe("ressenti/v1/+/+/status")
        ingest.wait_until(lambda m: len(m) >= messages, timeout=5)
        received = list(ingest.messages)
        ingest.close()
        return {"rss_before_mb": before / 1024, "rss_after_mb": after / 1024, "retained": len(received),
                "retained_mb": sum(len(p) for _, p in received) / 1e6}
    finally:
        broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--size", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ressenti-bench-") as tmp:
        base = Path(tmp)
        ports = {"tls": free_port(), "local": free_port()}
        inventory = render.inventory(base, KIOSKS, {"ressenti_broker_hostname": "localhost",
                                                    "ressenti_sites": [{"id": "mairie", "name": "Mairie"}]})
        render.make_secrets(base, inventory)
        files = render.render_broker(base, inventory, {"ressenti_broker_tls_port": ports["tls"],
                                                       "ressenti_broker_tls_bind_address": "127.0.0.1",
                                                       "ressenti_broker_local_port": ports["local"]})
        rows = [("previous ACL (baseline)", attack(files, previous_conf(files, ports["local"]), ports,
                                                   base / "run-previous", args.messages, args.size)),
                ("this ACL", attack(files, files.out / "conf.d", ports, base / "run-now", args.messages, args.size))]
    print(f"stolen kiosk: {args.messages} retained messages of {args.size} bytes under invented sites\n")
    print("| broker config | RSS before (MB) | RSS after (MB) | retained sent to a new subscriber | their MB |")
    print("|---|---|---|---|---|")
    for name, r in rows:
        print(f"| {name} | {r['rss_before_mb']:.1f} | {r['rss_after_mb']:.1f} | {r['retained']:.0f} "
              f"| {r['retained_mb']:.1f} |")


if __name__ == "__main__":
    main()
