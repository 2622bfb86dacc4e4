"""The memory of a real `ressenti kiosk run` process with the touch front-end, on its question screen.

    xvfb-run -a -s "-screen 0 800x480x24" .venv/bin/python bench/touch_process_memory.py

Starts the kiosk as systemd does (the CLI, a kiosk.toml with frontends =
["touch"], the link trying a broker that is not there), waits for "touch
screen ready" and a few seconds of frames, then reads /proc/<pid>/smaps with
bench/procmem.py and stops it with SIGTERM. Nothing taps: bench/touch_latency.py
measures the same process with taps (about 1.5 MB more, the thank-you screen).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import table
from procmem import breakdown

ROOT = Path(__file__).resolve().parent.parent


def write_config(directory: Path) -> Path:
    pin = directory / "touch-pin"
    pin.write_text("97531\n")
    config = directory / "kiosk.toml"
    config.write_text(
        f'kiosk = "bench-touch-1"\nsite = "bench"\ndata_dir = "{directory / "data"}"\n'
        'frontends = ["touch"]\nclock = "ntp"\nmock_pins = true\n'
        '[broker]\nurl = "mqtt://127.0.0.1:1"\n'
        f'[touch]\npin_file = "{pin}"\nfullscreen = false\n')
    return config


def status(pid: int, field: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return line.split(":", 1)[1].strip()
    return ""


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--settle", type=float, default=5.0,
                        help="seconds on the question screen before reading the memory")
    args = parser.parse_args()
    if not os.environ.get("DISPLAY"):
        print("no DISPLAY: run it under xvfb-run (see the docstring)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="ressenti-touch-memory-") as tmp:
        directory = Path(tmp)
        log = directory / "kiosk.log"
        with log.open("w") as output:
            kiosk = subprocess.Popen(
                [sys.executable, "-m", "ressenti.cli", "kiosk", "run",
                 "--config", str(write_config(directory))],
                cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
            try:
                deadline = time.monotonic() + 60
                while "touch screen ready" not in log.read_text():
                    if kiosk.poll() is not None or time.monotonic() > deadline:
                        print(log.read_text()[-3000:], file=sys.stderr)
                        return 1
                    time.sleep(0.1)
                time.sleep(args.settle)
                memory = breakdown(kiosk.pid)
                peak_kb = int(status(kiosk.pid, "VmHWM").split()[0])
                threads = status(kiosk.pid, "Threads")
            finally:
                kiosk.send_signal(signal.SIGTERM)
                try:
                    kiosk.wait(20)
                except subprocess.TimeoutExpired:
                    kiosk.kill()
                    kiosk.wait()

    def mb(kb: int) -> str:
        return f"{kb / 1024:.1f}"

    print(f"# touch_process_memory: `ressenti kiosk run`, touch only, question screen after "
          f"{args.settle:g} s, {threads} threads")
    print(table([("ressenti kiosk run (touch)", mb(memory.rss_kb), mb(peak_kb),
                  mb(memory.gl_driver_kb),
                  mb(memory.python_kb), mb(memory.other_files_kb), mb(memory.anon_kb),
                  mb(memory.brk_heap_kb))],
                ("process", "RSS MB", "peak MB", "GL driver libs", "Python + ext. modules", "other files",
                 "anon", "of which [heap]")))
    print("\nlargest mapped files, resident MB: " + ", ".join(
        f"{Path(name).name} {kb / 1024:.1f}" for name, kb in memory.top_files(6)))
    print(f"stopped with SIGTERM: exit status {kiosk.returncode}")
    return 0 if kiosk.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
