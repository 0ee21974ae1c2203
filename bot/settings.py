"""The one place that reads the environment. Everything else receives typed parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob, from `VOICEBOT_*` variables (and `REDIS_URL`), or a `.env` file."""

    model_config = SettingsConfigDict(env_prefix="VOICEBOT_", env_file=".env", extra="ignore")

    # --- the local engine ---------------------------------------------------------------------------
    engine_host: str = "127.0.0.1"
    engine_port: int = 8765
    engine_api_key: SecretStr | None = None  # when set, clients must send it (api-key or Bearer)
    engine_max_sessions: int = Field(32, ge=1)  # more concurrent sessions get HTTP 503
    # wss:// (TLS 1.2+) with this certificate and key (PEM); `voicebot run` then has its workers trust it
    engine_tls_cert: str | None = None
    engine_tls_key: str | None = None
    # The edge's calls (clients with this key; `voicebot run` makes one for its workers) may use all of
    # engine_max_sessions; every other client (by address) at most engine_max_sessions_per_client, and
    # all of them together what is left after engine_reserved_for_edge (with an edge key set).
    engine_edge_key: SecretStr | None = None
    engine_max_sessions_per_client: int = Field(8, ge=1)
    engine_reserved_for_edge: int = Field(16, ge=0)
    engine_max_event_bytes: int = Field(15 * 1024 * 1024, ge=1024)  # larger client events get an error event
    engine_pool_max_waiting: int = Field(16, ge=1)  # per model lane; more jobs are refused (overloaded)
    # `voicebot run` keeps a second engine loaded and waiting (~0.5 GB): when the engine dies it takes
    # the port at once (calls back in well under a second), and a new spare is loaded after.
    engine_standby: bool = True
    engine_warm_file: str | None = (
        None  # what the calls' sessions use, for the standby to prepare (voicebot run sets it)
    )
    engine_input_buffer_ms: int = Field(10 * 60 * 1000, ge=1000)  # uncommitted audio kept; oldest dropped
    asr_threads: int = Field(2, ge=1)
    # The engine's speech stages, each the local model or Azure Speech through its SDK: the cloud
    # service (key + region, or an endpoint), or a Speech container at a ws:// host (our own engine
    # serves those paths too). The session's voice is used when it names an Azure voice, else azure_speech_voice.
    asr: Literal["local", "azure"] = "local"
    tts: Literal["local", "azure"] = "local"
    azure_speech_key: SecretStr | None = None
    azure_speech_region: str | None = None
    azure_speech_endpoint: str | None = Field(None, pattern=r"^wss?://")
    azure_speech_host: str | None = Field(None, pattern=r"^wss?://")
    azure_speech_voice: str = "en-US-AvaMultilingualNeural"
    azure_speech_timeout_s: float = Field(10.0, gt=0)  # one recognition or synthesis, at most

    # --- the brain ----------------------------------------------------------------------------------
    brain: Literal["local", "openai"] = "local"
    brain_base_url: str | None = None  # any OpenAI-compatible chat-completions endpoint
    brain_model: str = "gpt-4o-mini"
    brain_api_key: SecretStr | None = None
    # A spoken reply is a few sentences; a small model left uncapped rambled for 78 s (llama-server).
    brain_max_tokens: int = Field(300, ge=16)

    # --- the realtime engine a call talks to (local by default; Azure Voice Live or OpenAI) -----------
    realtime_url: str = "ws://127.0.0.1:8765/v1/realtime?model=voicebot-local"
    realtime_kind: Literal["local", "openai", "azure"] = "local"
    realtime_api_key: SecretStr | None = None
    realtime_ca_file: str | None = None  # for a wss:// engine whose certificate no system CA signed (PEM)
    realtime_connect_timeout_s: float = Field(15.0, gt=0)  # the engine handshake, while the caller hears ringing

    # --- the bot --------------------------------------------------------------------------------------
    bot_instructions: str | None = None  # default: flows/assistant.md
    bot_voice: str = "alloy"
    transfer_uri: str | None = None  # SIP URI of the human agents' queue
    # cold: a REFER (the caller's phone or trunk calls the agent); warm: the bot holds the caller,
    # dials the agent, tells them who is calling, joins them and leaves (bot/edge/warm_transfer.py)
    transfer_mode: Literal["cold", "warm"] = "cold"
    timezone: str = "UTC"  # the business's IANA zone: what a caller's "tomorrow at 10" means
    callback_soon_s: float = Field(900.0, gt=0)  # "call me back as soon as you can": this much later
    agent_ring_timeout_s: float = Field(
        20.0, gt=0
    )  # a warm transfer's agent not answering this long: back to the caller
    max_concurrent_calls: int = Field(0, ge=0)  # across all workers; more get 503. 0: no global limit
    turn_detection: Literal["semantic_vad", "server_vad"] = "semantic_vad"  # how a caller's turn ends
    turn_eagerness: Literal["low", "medium", "high", "auto"] = "high"  # semantic_vad: how soon
    # Barge-in at the edge (bot/turn_policies/barge_in.py): the edge's own echo-cancelled detector;
    # false = the engine decides interruptions itself (interrupt_response) from its VAD.
    edge_interruption: bool = True
    local_vad: bool = True  # the edge's own detector; false: the engine's speech_started/stopped drive barge-in
    echo_cancellation: bool = True  # speex AEC on the caller's line, the bot's played audio as reference
    noise_reduction: bool = True  # ask the engine for input noise suppression
    idle_timeout_ms: int = Field(10_000, ge=0)  # silent caller: reprompt after this (0: never)
    idle_max_reprompts: int = Field(2, ge=0)  # then a polite goodbye and hang-up
    caller_id: str = Field("voicebot", pattern=r"^[A-Za-z0-9+._-]{1,64}$")  # From user part of calls we place
    ring_timeout_s: float = Field(30.0, gt=0)  # an outbound call not answered this long: CANCEL, no_answer
    ack_timeout_s: float = Field(8.0, ge=0)  # answered, never ACKed this long: the call ends, no_ack (0: pjsip's 32 s)
    media_timeout_s: float = Field(30.0, ge=0)  # no RTP from the caller this long: BYE, media_timeout (0: never)

    # --- business systems ----------------------------------------------------------------------------
    crm_url: str | None = None  # a real CRM over HTTP (see flows/http_crm.py); unset: the Redis demo CRM
    crm_secret: SecretStr | None = None  # HMAC key the requests are signed with

    # --- the SIP edge ---------------------------------------------------------------------------------
    sip_host: str = "127.0.0.1"
    sip_port: int = 5060
    sip_max_calls: int = Field(4, ge=1)  # per worker; the pjsua2 wheel caps this at 4
    rtp_port_base: int = 0  # first RTP port of a worker; 0 derives it from the SIP port
    trunk_registrar: str | None = None  # e.g. sip:trunk.example.com — register there with digest auth
    # Where phone numbers we dial go (sip:HOST[:PORT]): numbers become sip:NUMBER@HOST. Default: the registrar.
    outbound_route: str | None = Field(None, pattern=r"^sips?:[A-Za-z0-9.\-\[\]:]+$")
    trunk_user: str | None = None
    trunk_password: SecretStr | None = None
    # The front door (Kamailio): sources it trusts as trunks (comma-separated addresses or CIDRs, no
    # limits), and for everyone else new calls per 2 s and calls up at once per source address.
    trusted_sources: str = "127.0.0.1/32"
    source_invites_per_2s: int = Field(6, ge=1)
    source_max_calls: int = Field(2, ge=1)
    # Request-URI user parts (DIDs) the front door answers, comma-separated; any other gets 404 ("": any)
    dids: str = "bot"
    # SIP accounts ("user:password,..."): callers from other sources than the trusted ones must give
    # digest credentials of one (407 challenge). Unset: other sources get only the limits above.
    sip_users: SecretStr | None = None
    # SIP over TLS at the front door (TLS 1.2+; 0: off). No cert/key given: a self-signed one is made.
    sip_tls_port: int = Field(0, ge=0, le=65535)
    sip_tls_cert: str | None = None
    sip_tls_key: str | None = None
    # The media proxy (rtpengine) that terminates SRTP for callers who offer it: its control port and
    # the ports its media uses (clear of the workers' RTP ranges, 20000-60000).
    media_proxy_port: int = Field(2223, ge=1, le=65535)
    media_proxy_rtp_ports: str = Field("60100-64999", pattern=r"^\d{4,5}-\d{4,5}$")

    # --- state --------------------------------------------------------------------------------------
    redis_url: str | None = Field(None, validation_alias=AliasChoices("REDIS_URL", "VOICEBOT_REDIS_URL"))
    redis_port: int = 6399  # of the private redis-server `voicebot run` starts when REDIS_URL is unset
    record_dir: str | None = None  # write each call's line audio here (caller, echo-cancelled, bot) as WAVs
    # Call recordings: one stereo WAV per call (caller left, bot right), a folder per day, kept this many
    # days (the supervisor deletes older ones); silent while a flow takes card data. Off: `recording=false`,
    # or per call (`"record": false` in POST /calls; `X-Voicebot-Record: off` on an incoming INVITE).
    recording: bool = True
    recordings_dir: str | None = None  # default: "recordings" beside the run dir (var/recordings)
    recording_retention_days: float = Field(30.0, gt=0)
    # `voicebot run`'s own HTTP port: GET /metrics (Prometheus text) and the calls API (POST/GET/DELETE
    # /calls, with `Authorization: Bearer <api_key>`; no key: the API refuses); port 0: off
    api_key: SecretStr | None = None
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(8080, ge=0, le=65535)
    # Post-call delivery (bot/post_call.py): each ended call's document POSTed here, HMAC-signed with the secret
    post_call_url: str | None = Field(None, pattern=r"^https?://")
    post_call_secret: SecretStr | None = None
    post_call_retry_s: float = Field(5.0, gt=0)  # the first retry's delay; later ones grow (x3, x12, x60...)
    log_format: Literal["text", "json"] = "text"  # json: one object per line, with the call id (bot/log_format.py)
    run_dir: str = "var/run"  # where `voicebot run` keeps Redis data and Kamailio's rendered config

    @property
    def recordings_path(self) -> str | None:
        """Where recordings go, or None when recording is off."""
        if not self.recording:
            return None
        return self.recordings_dir or str(Path(self.run_dir).parent / "recordings")

    @field_validator("timezone")
    @classmethod
    def _a_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ValueError, ZoneInfoNotFoundError) as exc:
            raise ValueError(f"not an IANA time zone: {value!r}") from exc
        return value
