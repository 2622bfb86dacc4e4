"""One demo per data folder: an exclusive lock file that names the process holding it."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from ressenti.errors import RessentiError

FILE_NAME = "demo.lock"


class DemoBusy(RessentiError, RuntimeError):
    """Another demo runs on the same data folder; the message names its process."""


class DataDirLock:
    """Held from `acquire` to `release`; the kernel drops it when the process dies, so no stale locks."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / FILE_NAME
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 (held until release)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise DemoBusy(f"another demo (process {holder}) already uses {self.path.parent}; stop it "
                           "(Ctrl-C there), or give this one its own folder with --data") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
