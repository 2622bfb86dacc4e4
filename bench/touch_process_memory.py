"""The memory of a real `ressenti kiosk run` process with the touch front-end, on its question screen.

    xvfb-run -a -s "-screen 0 800x480x24" .venv/bin/python bench/touch_process_memory.py

On a Raspberry Pi, the same without xvfb-run, from the console, with the kiosk
service stopped (the display is then KMS/DRM and the GL driver the Pi's own).

Starts the kiosk as systemd does (the CLI, a kiosk.toml with frontends =
["touch"], the link trying a broker that is not there), waits for "touch
screen ready" and a few seconds of frames, then reads /proc/<pid>/smaps with
bench/procmem.py and stops it with SIGTERM. Nothing taps: bench/touch_latency.py
measures the same process with taps (about 1.5 MB more, the thank-you screen).

For comparison, a second process opens only a bare SDL2 window with a GL
context (Kivy's own SDL2 library, through ctypes; no Kivy, no kiosk) and clears
a few frames: what the display and the GL driver add by themselves. Under
Xvfb that driver is Mesa's llvmpipe, which a Raspberry Pi does not use.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import json
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


def bare_gl_window(frames: int = 30) -> None:
    """Open an 800x480 SDL2 window with a GL context, clear `frames` frames, print what it added."""
    before = breakdown()
    kivy = importlib.util.find_spec("kivy")  # where its bundled SDL2 is; Kivy is not imported
    if kivy is None or kivy.origin is None:
        raise SystemExit("Kivy is not installed")
    libs = Path(kivy.origin).parent.parent / "Kivy.libs"
    sdl = ctypes.CDLL(str(next(libs.glob("libSDL2-2*.so*"))))
    sdl_init_video, gl_doublebuffer, gl_depth, gl_stencil = 0x20, 5, 6, 7
    window_opengl, window_shown = 0x2, 0x4
    if sdl.SDL_Init(sdl_init_video) != 0:
        raise SystemExit("SDL_Init failed")
    # The attributes Kivy's SDL2 window asks for.
    for attribute, value in ((gl_doublebuffer, 1), (gl_depth, 16), (gl_stencil, 8)):
        sdl.SDL_GL_SetAttribute(attribute, value)
    sdl.SDL_CreateWindow.restype = ctypes.c_void_p
    sdl.SDL_GL_CreateContext.restype = ctypes.c_void_p
    window = ctypes.c_void_p(sdl.SDL_CreateWindow(b"gl", 0, 0, 800, 480,
                                                  window_opengl | window_shown))
    if not sdl.SDL_GL_CreateContext(window):
        raise SystemExit("no GL context")
    gl = ctypes.CDLL("libGL.so.1")
    gl.glClearColor.argtypes = [ctypes.c_float] * 4
    for _ in range(frames):
        gl.glClearColor(0.96, 0.95, 0.93, 1.0)
        gl.glClear(0x4000)  # GL_COLOR_BUFFER_BIT
        sdl.SDL_GL_SwapWindow(window)
    after = breakdown()
    print(json.dumps({key: getattr(after, key) - getattr(before, key) for key in (
        "rss_kb", "gl_driver_kb", "python_kb", "other_files_kb", "anon_kb", "brk_heap_kb")}))


def status(pid: int, field: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return line.split(":", 1)[1].strip()
    return ""


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--settle", type=float, default=5.0,
                        help="seconds on the question screen before reading the memory")
    parser.add_argument("--bare-gl-window", action="store_true",
                        help="(internal) be the bare SDL2 + GL process, print its memory as JSON")
    args = parser.parse_args()
    if args.bare_gl_window:
        bare_gl_window()
        return 0
    bare = json.loads(subprocess.run([sys.executable, __file__, "--bare-gl-window"], check=True,
                                     capture_output=True, text=True).stdout)
    with tempfile.TemporaryDirectory(prefix="ressenti-touch-memory-") as tmp:
        directory = Path(tmp)
        log = directory / "kiosk.log"
        with log.open("w") as output:
            kiosk = subprocess.Popen(
                [sys.executable, "-m", "cli", "kiosk", "run",
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
          f"{args.settle:g} s, {threads} threads, display "
          f"{os.environ.get('DISPLAY') or 'none (KMS/DRM)'}")
    print(table([
        ("ressenti kiosk run (touch)", mb(memory.rss_kb), mb(peak_kb), mb(memory.gl_driver_kb),
         mb(memory.python_kb), mb(memory.other_files_kb), mb(memory.anon_kb),
         mb(memory.brk_heap_kb)),
        ("of which a bare SDL2 window + GL context would add (no Kivy)", mb(bare["rss_kb"]), "",
         *(mb(bare[key]) for key in (
             "gl_driver_kb", "python_kb", "other_files_kb", "anon_kb", "brk_heap_kb"))),
    ], ("process", "RSS MB", "peak MB", "GL driver libs", "Python + ext. modules", "other files",
        "anon", "of which [heap]")))
    print("\nlargest mapped files, resident MB: " + ", ".join(
        f"{Path(name).name} {kb / 1024:.1f}" for name, kb in memory.top_files(6)))
    print(f"stopped with SIGTERM: exit status {kiosk.returncode}")
    return 0 if kiosk.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
