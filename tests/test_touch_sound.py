"""The confirmation chime is made at start: a short, soft, valid WAV."""

from __future__ import annotations

import struct
import wave

from kiosk.touch.sound import RATE, write_chime


def test_chime_is_a_short_soft_mono_wav(tmp_path):
    path = write_chime(tmp_path / "chime.wav")
    with wave.open(str(path)) as chime:
        assert (chime.getnchannels(), chime.getsampwidth(), chime.getframerate()) == (1, 2, RATE)
        frames = chime.readframes(chime.getnframes())
        duration = chime.getnframes() / RATE
    samples = struct.unpack(f"<{len(frames) // 2}h", frames)
    assert 0.1 < duration < 0.3, "a chime, not a tune"
    assert max(abs(s) for s in samples) < 0.4 * 32767, "soft: it plays in a waiting room"
    assert abs(samples[0]) < 500 and abs(samples[-1]) < 500, "faded in and out, no click"
