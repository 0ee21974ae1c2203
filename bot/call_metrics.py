"""What the SIP workers and the engine count, for `voicebot run`'s GET /metrics (prometheus-client).

Each process records into prometheus-client's multiprocess files when the supervisor gives it
PROMETHEUS_MULTIPROC_DIR (its run dir's `metrics/`); the supervisor serves them merged with its
own (bot/supervisor_metrics.py). Without it (a test, a lone process) they are plain in-process
metrics. Labels are bounded sets: directions, outcomes and decision kinds are the code's own words,
tools are the registry's names (anything else is `unknown`), stages are the engine's list.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_SECONDS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)

CALLS = Counter("voicebot_calls", "Calls ended, by direction and outcome", ["direction", "outcome"])
CALLS_ACTIVE = Gauge("voicebot_calls_active", "Calls up now (ringing or answered)", ["direction"],
                     multiprocess_mode="livesum")  # fmt: skip
CALL_SETUP = Histogram("voicebot_call_setup_seconds", "From a call's start (INVITE, or our dial) to its answer",
                       ["direction"], buckets=(0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0))  # fmt: skip
DECISIONS = Counter("voicebot_edge_decisions", "What the call edge decided (barge-in pauses and interruptions, "
                    "echo ignored, transfers, AMD, engine losses...)", ["kind"])  # fmt: skip
TURN_LATENCY = Histogram("voicebot_turn_latency_seconds", "End of the caller's turn (the engine's commit) to the "
                         "bot's first audio played, per reply", buckets=_SECONDS)  # fmt: skip
TOOL_CALLS = Counter("voicebot_tool_calls", "Tool calls, by tool and outcome (ok / error)", ["tool", "outcome"])
TOOL_SECONDS = Histogram("voicebot_tool_seconds", "Tool call duration", ["tool"], buckets=_SECONDS)
PLAYOUT_UNDERRUNS = Counter("voicebot_playout_underruns", "Bot audio frames due before the engine sent them")
REPLY_GAP = Histogram(
    "voicebot_reply_gap_seconds",
    "The caller's last voiced frame to the bot's first reply frame "
    "played on the line (the edge's mouth-to-ear, per turn)",
    buckets=_SECONDS,
)
RECORDING_GAP = Counter("voicebot_recording_gap_seconds", "Call audio written as silence because the disk fell behind")
RTP_LOST = Counter("voicebot_rtp_lost_packets", "Caller RTP packets lost on the way (sequence gaps), per ended call")
RTP_DISCARDED = Counter(
    "voicebot_rtp_discarded_packets", "Caller RTP packets the jitter buffer discarded (late, duplicate)"
)
RTP_RECEIVED = Counter("voicebot_rtp_received_packets", "Caller RTP packets received, per ended call")
PLAYOUT_DROPPED = Counter("voicebot_playout_dropped_frames", "Bot audio frames dropped (the playout buffer full)")
REDIS_QUEUE = Gauge("voicebot_redis_write_queue", "Call-record writes waiting for Redis", multiprocess_mode="livesum")
REDIS_RETRIES = Counter("voicebot_redis_write_retries", "Call-record write batches retried after a Redis error")
ENGINE_STAGE = Histogram("voicebot_engine_stage_seconds", "Engine stage latency (ASR, brain, TTS first audio...)",
                         ["stage"], buckets=_SECONDS)  # fmt: skip
ENGINE_SESSIONS = Gauge("voicebot_engine_sessions", "Engine sessions open", multiprocess_mode="livesum")
ENGINE_POOL_WAITING = Gauge("voicebot_engine_pool_waiting", "Model jobs running or queued, per lane of the engine's pool",
                            ["lane"], multiprocess_mode="livesum")  # fmt: skip
ENGINE_POOL_REFUSED = Counter("voicebot_engine_pool_refused_jobs", "Model jobs refused: the lane was full", ["lane"])
ENGINE_REFUSED = Counter("voicebot_engine_refused_sessions", "Engine sessions refused (over capacity, bad key)")
