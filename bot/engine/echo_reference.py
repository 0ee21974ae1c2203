"""The echo reference of `input_audio_echo_cancellation`: the reply audio the engine sends, handed
over as it is sent (wire bytes, before base64) and brought to the canceller's rate."""

from __future__ import annotations

from bot.audio.formats import AudioFormat, Decoder
from bot.audio.frames import ENGINE_RATE
from bot.engine.echo_cancel import ServerEchoCanceller


class EchoReference:
    def __init__(self, canceller: ServerEchoCanceller, output_format: AudioFormat) -> None:
        self.canceller = canceller
        self.output_format = output_format
        self._decoder = Decoder(output_format, ENGINE_RATE)

    def sent(self, item_id: str, wire: bytes) -> None:
        """Audio of `item_id` just sent to the client, in the session's output format."""
        self.canceller.played(item_id, self._decoder.process(wire))

    def truncated(self, item_id: str, audio_end_ms: int) -> None:
        self.canceller.truncated(item_id, audio_end_ms)

    def close(self) -> None:
        self.canceller.close()


def echo_reference_for(ref: EchoReference | None, wanted: bool, output_format: AudioFormat) -> EchoReference | None:
    """A session's echo reference after a session.update: none when not `wanted` (the old one closed),
    else the old one's canceller (its state kept) fed in the output format now in force."""
    if not wanted:
        if ref is not None:
            ref.close()
        return None
    if ref is None or ref.output_format != output_format:
        ref = EchoReference(ref.canceller if ref else ServerEchoCanceller(), output_format)
    return ref
