"""The optional confirmation sound: a short two-note chime, made at start, played after a commit.

The chime is synthesised once into a small WAV file (no asset to ship, no
licence to track) and loaded through Kivy's SDL2 audio. A kiosk without a
sound device keeps working: the sound is then reported once and skipped.
"""

from __future__ import annotations

import logging
import math
import os
import struct
import tempfile
import wave
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

RATE = 22050


def write_chime(path: Path, volume: float = 0.35) -> Path:
    """Two soft sine notes (E5 then A5), 90 ms each, faded in and out."""
    frames = bytearray()
    for freq in (659.25, 880.0):
        count = int(RATE * 0.09)
        for i in range(count):
            envelope = min(1.0, i / 200, (count - i) / 400)
            sample = volume * envelope * math.sin(2 * math.pi * freq * i / RATE)
            frames += struct.pack("<h", int(sample * 32767))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(bytes(frames))
    return path


class ConfirmSound:
    def __init__(self) -> None:
        self._sound: Any = None
        fd, name = tempfile.mkstemp(prefix="ressenti-chime-", suffix=".wav")
        os.close(fd)
        try:
            from kivy.core.audio import SoundLoader

            sound = SoundLoader.load(str(write_chime(Path(name))))
            # Without a sound device SDL still returns a sound, of length 0.
            self._sound = sound if sound is not None and sound.length > 0 else None
        except Exception:
            log.exception("confirmation sound unavailable")
        finally:
            Path(name).unlink(missing_ok=True)  # SDL_mixer has read it into memory
        if self._sound is None:
            log.warning("confirmation sound unavailable (no audio device?); continuing silently")

    @property
    def available(self) -> bool:
        return self._sound is not None

    def play(self) -> None:
        if self._sound is None:
            return
        try:
            self._sound.stop()
            self._sound.play()
        except Exception:
            log.exception("could not play the confirmation sound; disabling it")
            self._sound = None
