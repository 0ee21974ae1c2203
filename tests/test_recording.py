"""The call recording (bot/edge/call_recorder.py) and the reply gaps (bot/edge/reply_gap.py): real
files on disk, read back with `wave`; frames as the media clock makes them."""

from __future__ import annotations

import asyncio
import datetime as dt
import wave
from pathlib import Path

import numpy as np
import pytest

from bot.edge import call_recorder
from bot.edge.buffers import CallerFrame
from bot.edge.call_recorder import CallRecorder
from bot.edge.line_tap import recording_name
from bot.edge.reply_gap import ReplyGap, ReplyGaps

SAMPLES = 160  # 20 ms at 8 kHz


def pcm(value: int) -> bytes:
    return np.full(SAMPLES, value, dtype="<i2").tobytes()


def frame(n: int, line: int = 0, played: int | None = None, voiced: bool | None = None) -> CallerFrame:
    data = pcm(line)
    return CallerFrame(n, data, data, pcm(played) if played is not None else None, voiced)


def channels(path: Path) -> tuple[np.ndarray, np.ndarray, wave._wave_params]:
    with wave.open(str(path), "rb") as w:
        params = w.getparams()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return data[0::2], data[1::2], params


async def test_the_caller_is_on_the_left_the_bot_on_the_right_on_one_clock(tmp_path: Path) -> None:
    rec = CallRecorder(tmp_path / "day" / "call.wav")
    for n in range(50):
        rec.add(frame(n, line=1000 + n, played=-2000 if n >= 25 else None))
    await rec.close()
    left, right, params = channels(rec.path)
    assert (params.nchannels, params.sampwidth, params.framerate) == (2, 2, 8000)
    assert len(left) == 50 * SAMPLES and rec.seconds == 1.0
    assert left[7 * SAMPLES] == 1007 and left[-1] == 1049  # each frame where its tick was
    assert not right[: 25 * SAMPLES].any() and (right[25 * SAMPLES :] == -2000).all()


async def test_a_pci_pause_is_silence_on_both_channels(tmp_path: Path) -> None:
    rec = CallRecorder(tmp_path / "call.wav")
    for n in range(30):
        if n == 10:
            rec.pause(True)
        if n == 20:
            rec.pause(False)
        rec.add(frame(n, line=500, played=700))
    await rec.close()
    left, right, _ = channels(rec.path)
    assert len(left) == 30 * SAMPLES and rec.paused_frames == 10
    paused = slice(10 * SAMPLES, 20 * SAMPLES)
    assert not left[paused].any() and not right[paused].any()
    assert (left[: 10 * SAMPLES] == 500).all() and (right[20 * SAMPLES :] == 700).all()


async def test_the_file_is_a_valid_wav_while_the_call_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(call_recorder, "FLUSH_S", 0.02)
    rec = CallRecorder(tmp_path / "call.wav")
    task = asyncio.create_task(rec.run())
    for n in range(20):
        rec.add(frame(n, line=300))
    for _ in range(100):  # (until the writer has had its turn)
        await asyncio.sleep(0.02)
        if rec.path.exists() and rec.path.stat().st_size > 44:
            break
    left, _, _ = channels(rec.path)  # read mid-call: the header already counts what is on disk
    assert len(left) == 20 * SAMPLES
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await rec.close()
    await rec.close()  # (twice is harmless)


async def test_a_stalled_disk_loses_audio_never_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond MAX_PENDING_S waiting, frames are written as silence: the channels stay on the clock."""
    monkeypatch.setattr(call_recorder, "MAX_PENDING_S", 0.1)  # 5 frames
    rec = CallRecorder(tmp_path / "call.wav")
    for n in range(12):
        rec.add(frame(n, line=900))
    await rec.close()
    left, _, _ = channels(rec.path)
    assert len(left) == 12 * SAMPLES  # every tick is in the file
    assert (left[: 5 * SAMPLES] == 900).all() and not left[5 * SAMPLES :].any()


async def test_a_disk_that_fails_ends_the_recording_not_the_call(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    rec = CallRecorder(blocker / "call.wav")
    rec.add(frame(0, line=1))
    await rec.close()
    assert rec.error is not None and "Error" in rec.error
    rec.add(frame(1, line=1))  # (ignored, no exception)


def test_recording_names_are_safe_file_names() -> None:
    day = dt.date(2026, 12, 3)
    assert recording_name("abc-123@10.0.0.1", day) == "2026-12-03/abc-123_10.0.0.1.wav"
    assert recording_name("../../etc/passwd", day) == "2026-12-03/_.._etc_passwd.wav"
    assert recording_name("", day) == "2026-12-03/call.wav"


def test_reply_gaps_count_from_the_last_voiced_frame_to_the_first_played() -> None:
    gaps = ReplyGaps()
    out: list[ReplyGap] = []
    timeline = [frame(n, voiced=False, played=100) for n in range(0, 5)]  # the greeting: no caller yet
    timeline += [frame(n, voiced=n < 20) for n in range(5, 30)]  # the caller speaks until frame 19
    timeline += [frame(n, voiced=False, played=100) for n in range(30, 40)]  # the reply from frame 30
    timeline += [frame(n, voiced=False) for n in range(40, 45)]
    timeline += [frame(n, voiced=False, played=100) for n in range(45, 50)]  # more bot, nobody spoke
    for f in timeline:
        if (gap := gaps.frame(f)) is not None:
            out.append(gap)
    assert out == [ReplyGap(at_ms=600, gap_ms=200)]  # frames 20-29 silent: 10 frames


def test_a_reply_begun_over_the_callers_words_is_no_gap_the_one_after_is() -> None:
    """The engine answered "Great." while the caller went on ("... I'd like to pay my bill"): its first
    frame came during their speech (a gap of 0, seen on a real call); the reply after their turn counts."""
    gaps = ReplyGaps()
    timeline = [frame(n, voiced=n < 10) for n in range(0, 15)]  # "Great."
    timeline += [frame(n, voiced=True) for n in range(15, 20)]  # they go on
    timeline += [frame(20, voiced=True, played=100)]  # the bot starts over them, and is stopped
    timeline += [frame(n, voiced=n < 40) for n in range(21, 50)]
    timeline += [frame(n, voiced=False, played=100) for n in range(50, 55)]  # the answer
    out = [g for f in timeline if (g := gaps.frame(f)) is not None]
    assert out == [ReplyGap(at_ms=1000, gap_ms=(50 - 40) * 20)]


def test_the_soft_end_of_a_word_counts_as_speech_but_line_noise_does_not() -> None:
    """A final "s" the detector let go of (level 250 on a quiet line) is speech; a hiss at the line's
    own noise level after it is not."""
    gaps = ReplyGaps()
    timeline = [frame(n, line=20, voiced=False) for n in range(0, 10)]  # line noise at level 20
    timeline += [frame(n, line=3000, voiced=True) for n in range(10, 30)]
    timeline += [frame(n, line=250, voiced=False) for n in range(30, 34)]  # the tail
    timeline += [frame(n, line=20, voiced=False) for n in range(34, 60)]
    timeline += [frame(n, line=20, voiced=False, played=100) for n in range(60, 62)]
    out = [g for f in timeline if (g := gaps.frame(f)) is not None]
    assert out == [ReplyGap(at_ms=1200, gap_ms=(60 - 34) * 20)]
