"""Where a process's resident memory goes, from /proc/<pid>/smaps: by kind of mapping, and malloc's view.

Used by bench/touch_latency.py to explain its RSS figure (issue 4). Mesa's
software renderer (llvmpipe, under Xvfb) runs inside the process: its libraries
are counted apart as "GL driver libraries", since a Raspberry Pi's V3D driver
maps other, smaller ones. Their heap allocations cannot be told apart from the
others' in smaps: they are in "anonymous", see the stage deltas.
"""

from __future__ import annotations

import ctypes
import re
from collections import Counter
from dataclasses import dataclass, field

# Mesa's GL stack and what llvmpipe pulls in (LLVM and its own dependencies,
# on Debian bookworm: libz3, libxml2 with ICU, libedit, libelf, libsensors).
GL_DRIVER = re.compile(r"libLLVM|/dri/|libgallium|libglapi|libGL|libEGL|libgbm|libdrm"
                       r"|libz3|libxml2|libicu|libedit|libelf|libsensors")
PYTHON = re.compile(r"libpython|/lib-dynload/|/site-packages/|/bin/python")
_MAPPING = re.compile(r"^[0-9a-f]+-[0-9a-f]+ ")


@dataclass
class Breakdown:
    """Resident kB by kind; `files` has the resident kB of each mapped file."""

    rss_kb: int = 0
    anon_kb: int = 0  # heap, thread stacks, Python's arenas, GL buffers and JIT code
    brk_heap_kb: int = 0  # [heap]: glibc's main arena (the main thread's malloc)
    gl_driver_kb: int = 0  # file-backed pages of the GL driver libraries
    python_kb: int = 0  # libpython and extension modules (Kivy's Cython modules...)
    other_files_kb: int = 0  # SDL2, libc, OpenSSL, SQLite... and the shared memory of the X window
    files: Counter[str] = field(default_factory=Counter)

    def top_files(self, count: int) -> list[tuple[str, int]]:
        return self.files.most_common(count)


def breakdown(pid: int | str = "self") -> Breakdown:
    result = Breakdown()
    for name, rss_kb, anon_kb in _mappings(pid):
        result.rss_kb += rss_kb
        result.anon_kb += anon_kb
        if name == "[heap]":
            result.brk_heap_kb += anon_kb
        if not name or name.startswith("["):
            continue
        result.files[name] += rss_kb
        # A file mapping holds anonymous (copy-on-write) pages too, such as
        # libLLVM's relocations: they are counted once, as anonymous.
        file_kb = rss_kb - anon_kb
        if GL_DRIVER.search(name):
            result.gl_driver_kb += file_kb
        elif PYTHON.search(name):
            result.python_kb += file_kb
    result.other_files_kb = (result.rss_kb - result.anon_kb - result.gl_driver_kb
                             - result.python_kb)
    return result


def _mappings(pid: int | str) -> list[tuple[str, int, int]]:
    """(path or [kind] or "", resident kB, anonymous kB) of each mapping."""
    mappings: list[tuple[str, int, int]] = []
    name, rss_kb = "", 0
    with open(f"/proc/{pid}/smaps") as smaps:  # line by line: the whole text is ~0.5 MB
        for line in smaps:
            if line.startswith("Rss:"):
                rss_kb = int(line.split()[1])
            elif line.startswith("Anonymous:"):
                mappings.append((name, rss_kb, int(line.split()[1])))
            elif _MAPPING.match(line):
                parts = line.split(None, 5)
                name = parts[5].strip() if len(parts) > 5 else ""
    return mappings


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost")]


def malloc_kb() -> tuple[int, int] | None:
    """glibc malloc over all its arenas: (kB in use, kB free but kept), or None off glibc."""
    try:
        libc = ctypes.CDLL(None)
        libc.mallinfo2.restype = _Mallinfo2
    except (OSError, AttributeError):
        return None
    info = libc.mallinfo2()
    return (info.uordblks + info.hblkhd) // 1024, info.fordblks // 1024


def malloc_arenas() -> int | None:
    """How many malloc arenas glibc has made (one more per thread that allocated, up to 8 per CPU)."""
    try:
        libc = ctypes.CDLL(None)
        libc.open_memstream.restype = ctypes.c_void_p
    except (OSError, AttributeError):
        return None
    buffer, size = ctypes.c_char_p(), ctypes.c_size_t()
    stream = libc.open_memstream(ctypes.byref(buffer), ctypes.byref(size))
    libc.malloc_info(0, ctypes.c_void_p(stream))
    libc.fclose(ctypes.c_void_p(stream))
    text = ctypes.string_at(buffer, size.value).decode()
    libc.free(buffer)
    return text.count("<heap nr=")
