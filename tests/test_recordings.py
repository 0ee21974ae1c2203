"""A call's stereo recording on the real stack (pjsua2 caller, our TTS over G.711, whisper): the
caller on the left, the bot on the right, on the clock the edge measured its replies with; a card
read out while a flow takes it is silence in the file and a mask in the transcript; the recording is
downloadable from the page's API and indexed in the call's record."""

from __future__ import annotations

import json
import re
import wave
from pathlib import Path

import aiohttp
import numpy as np

from tests.audio import transcribe
from tests.stack import Stack, call_id_of, call_of, decisions, softphone

FRAME = 160  # samples per 20 ms at 8 kHz
VOICED_RMS = 150.0  # a 20 ms frame of speech (our TTS on a clean line; the gaps between words are digital silence)


def channels(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, 8000)
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return data[0::2], data[1::2]


def voiced(channel: np.ndarray) -> np.ndarray:
    """Per 20 ms frame: speech on this channel."""
    frames = channel[: len(channel) // FRAME * FRAME].astype(np.float64).reshape(-1, FRAME)
    on: np.ndarray = np.sqrt((frames**2).mean(axis=1)) > VOICED_RMS
    return on


def content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text) if len(w) > 3}


def pcm(channel: np.ndarray, start_ms: int = 0, end_ms: int | None = None) -> bytes:
    return channel[start_ms * 8 : None if end_ms is None else end_ms * 8].astype("<i2").tobytes()


async def test_a_call_is_recorded_in_stereo_aligned_and_silent_while_a_card_is_read_out(stack: Stack) -> None:
    """Sam Lee (no card on file) verifies, pays his bill and reads out a card number."""
    code, out = await softphone(
        stack.uri,
        "Hi there, um, my zip code is 1 0 0 0 1.",
        "Great. I'd like to pay my bill, the whole hundred and twenty dollars.",
        "Yes please.",
        "Okay, the card number is 4111 1111 1111 1111, and the security code is 7 3 7.",
        # Whisper tiny loses or adds a group of those ones about one time in eight (measured offline on this
        # audio at 8 shifts): the bot asks again, and the caller reads it again.
        "?again:Sure, the card number is 4111 1111 1111 1111, and the security code is 7 3 7.",
        "Yes, that's right.",
        "That's everything, thanks. Bye!",
        caller="+15550101",
    )
    assert code == 0, out
    record, lines = await call_of(stack, call_id_of(out))
    words = [(line["role"], line["text"]) for line in lines]
    assert record.get("recording", "").endswith(".wav"), record
    path = stack.run_dir / "recordings" / record["recording"]
    left, right = channels(path)
    assert abs(len(left) / 8000 - float(record["recording_s"])) < 0.05

    # The PCI pause: from pay_bill's "read me the card" to the card being taken, both channels silent.
    paused, resumed = decisions(lines, "pci_paused"), decisions(lines, "pci_resumed")
    assert len(paused) == 1 and len(resumed) == 1, words
    start, end = int(paused[0]["at_ms"]), int(resumed[0]["at_ms"])
    assert end - start > 3000, (start, end)  # the caller's card and its confirmation were in it
    assert not left[start * 8 : end * 8].any() and not right[start * 8 : end * 8].any()
    said = " ".join(text for role, text in words if role == "caller")
    assert "card ending 1111" in said and "4111" not in said.replace(" ", ""), said
    assert "pay_with_card" in " ".join(text for role, text in words if role == "tool"), words

    # Each channel holds its own side: the caller's words on the left, the bot's on the right.
    heard_left = transcribe(pcm(left, 0, start), 8000).lower()
    heard_right = transcribe(pcm(right, 0, start), 8000).lower()
    assert "zip" in heard_left and "bill" in heard_left, heard_left
    assert "verified" in heard_right and "120" in heard_right, heard_right  # (the card prompt: inside the pause)
    # Once the recording went on, the bot's channel holds what the bot said from then (whatever whisper
    # made of the caller's last turns: the words of the lines the transcript has after the pause).
    resumed_at = next(i for i, line in enumerate(lines) if line.get("event") == "pci_resumed")
    later = " ".join(line["text"] for line in lines[resumed_at:] if line["role"] == "bot").lower()
    after = transcribe(pcm(right, end), 8000).lower()
    assert len(content_words(later) & content_words(after)) >= 3, (later, after)
    assert "verified" not in heard_left and "zip code is" not in heard_right, (heard_left, heard_right)

    # Aligned: each reply starts where the edge measured it, after the caller's turn ended, and the
    # silence between the two in the file is the gap the edge measured (within 100 ms).
    gaps = [(int(at), int(gap)) for at, gap in json.loads(record["reply_gaps"])]
    assert len(gaps) >= 3, record
    caller_on = voiced(left)
    checked = 0
    for at_ms, gap_ms in gaps:
        if start <= at_ms <= end:
            continue  # (silent in the file)
        frame = at_ms // 20
        # (the bot's channel is digital silence until its first frame: exact to the frame)
        assert right[frame * FRAME : (frame + 1) * FRAME].any(), (at_ms, gap_ms)
        assert not right[max(0, frame - 3) * FRAME : frame * FRAME].any(), (at_ms, gap_ms)
        spoke = np.flatnonzero(caller_on[:frame])
        assert len(spoke), at_ms
        if spoke[-1] * 20 < end < at_ms:
            continue  # the turn it answers was said in the pause (silent in the file)
        checked += 1
        file_gap_ms = (frame - spoke[-1] - 1) * 20
        assert abs(file_gap_ms - gap_ms) <= 100, (at_ms, gap_ms, file_gap_ms)
        assert file_gap_ms > 0  # the bot's answer starts after the caller's question ends
    assert checked >= 3, gaps

    # Downloadable, as the page plays it.
    url = f"http://127.0.0.1:{stack.env['VOICEBOT_METRICS_PORT']}/recordings/{record['call_id']}"
    key = {"Authorization": f"Bearer {stack.env['VOICEBOT_API_KEY']}"} if stack.env.get("VOICEBOT_API_KEY") else {}
    async with aiohttp.ClientSession() as http, http.get(url, headers=key) as r:
        assert r.status == 200 and r.headers["Content-Type"] == "audio/wav"
        assert await r.read() == path.read_bytes()
