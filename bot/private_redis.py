"""The private redis-server `voicebot run` starts when no REDIS_URL is given: its data directory, its
config (a password generated once and kept there, readable by its owner only) and the URL to reach it.

The password never appears on a command line (`ps` would show it): it is in the config file
redis-server is started with, and in REDIS_URL for the processes the supervisor starts.
"""

from __future__ import annotations

import secrets
from pathlib import Path

PASSWORD_FILE = "password"
CONFIG_FILE = "redis.conf"


def password(data: Path) -> str:
    """The private Redis's password: made the first time, then the same across restarts."""
    path = data / PASSWORD_FILE
    if path.exists():
        return path.read_text().strip()
    data.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(24)  # (URL-safe: no quoting in redis://:<password>@...)
    path.touch(mode=0o600)
    path.write_text(secret + "\n")
    return secret


def write_config(data: Path, secret: str) -> Path:
    conf = data / CONFIG_FILE
    conf.touch(mode=0o600)
    conf.write_text(f"requirepass {secret}\n")
    return conf


def url(host: str, port: int, secret: str, db: int = 0) -> str:
    return f"redis://:{secret}@{host}:{port}/{db}"


def url_for(run_dir: Path, host: str, port: int) -> str:
    """The URL of the private Redis of the `voicebot run` that keeps its files in `run_dir`."""
    return url(host, port, password(run_dir / "redis"))
