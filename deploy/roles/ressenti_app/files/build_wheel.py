#!/usr/bin/env python3
"""Build the ressenti wheel from a checkout, reproducibly, for the Ansible roles.

The working tree is copied to a temporary folder first (an in-place build leaves
build/ and *.egg-info behind, and a stale build/ can leak deleted modules into
the wheel). SOURCE_DATE_EPOCH pins the timestamps inside the zip, so the same
sources give the same bytes and Ansible's copy of the wheel reports no change.
A build is skipped when the sources are unchanged since the last one.

Prints one JSON object: {"path": "<wheel>", "changed": true|false}.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# Folders and files that are not sources of the package.
SKIP_DIRS = {".git", ".venv", "venv", "build", "dist", "__pycache__", ".pytest_cache", ".mypy_cache",
             ".ruff_cache", "node_modules", "test-artifacts", "demo-data", "deploy", "tests", "bench"}
SKIP_SUFFIXES = (".egg-info", ".pyc", ".db", ".db-wal", ".db-shm", ".whl")
# 1980-01-01, the earliest date a zip file can hold.
EPOCH = "315532800"


def source_files(root: Path) -> list[Path]:
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.endswith(SKIP_SUFFIXES))
        for name in sorted(filenames):
            if not name.endswith(SKIP_SUFFIXES):
                files.append(Path(dirpath, name).relative_to(root))
    return files


def digest(root: Path, files: list[Path]) -> str:
    sha = hashlib.sha256()
    for rel in files:
        sha.update(str(rel).encode() + b"\0")
        sha.update(oct((root / rel).stat().st_mode & 0o777).encode() + b"\0")
        sha.update((root / rel).read_bytes() + b"\0")
    return sha.hexdigest()


def build(root: Path, files: list[Path], dest: Path, python: str) -> Path:
    with tempfile.TemporaryDirectory(prefix="ressenti-wheel-") as tmp:
        copy = Path(tmp, "src")
        for rel in files:
            (copy / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / rel, copy / rel)
        out = Path(tmp, "out")
        env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        result = subprocess.run(
            [python, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(copy)],
            env=env, capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"pip wheel failed:\n{result.stdout}\n{result.stderr}")
        wheels = list(out.glob("ressenti-*.whl"))
        if len(wheels) != 1:
            sys.exit(f"expected one ressenti wheel, pip made {[w.name for w in wheels]}")
        target = dest / wheels[0].name
        shutil.copyfile(wheels[0], target)
        return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="The checkout (holds pyproject.toml).")
    parser.add_argument("--dest", type=Path, required=True, help="Folder for the wheel.")
    parser.add_argument("--python", default=sys.executable, help="Python whose pip builds the wheel.")
    args = parser.parse_args()
    root = args.source.resolve()
    if not (root / "pyproject.toml").is_file():
        sys.exit(f"{root} has no pyproject.toml: point --source at the ressenti checkout")
    args.dest.mkdir(parents=True, exist_ok=True)
    # Playbooks running side by side build once; the others find the stamp.
    with open(args.dest / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        print(json.dumps(build_if_changed(root, args.dest, args.python)))


def build_if_changed(root: Path, dest: Path, python: str) -> dict[str, object]:
    files = source_files(root)
    stamp = dest / "ressenti-wheel.json"
    sources = digest(root, files)
    if stamp.is_file():
        last = json.loads(stamp.read_text())
        if last.get("sources") == sources and Path(last.get("path", "")).is_file():
            return {"path": last["path"], "changed": False}
    wheel = build(root, files, dest, python)
    wheel_sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    changed = not stamp.is_file() or json.loads(stamp.read_text()).get("wheel_sha256") != wheel_sha
    stamp.write_text(json.dumps({"path": str(wheel), "sources": sources, "wheel_sha256": wheel_sha}))
    return {"path": str(wheel), "changed": changed}


if __name__ == "__main__":
    main()
