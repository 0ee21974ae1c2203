"""Text from the wire made safe to store: always encodable UTF-8, of bounded length.

SIP headers reach Python through pjsua2 as surrogate-escaped strings when they are not valid UTF-8
(a From display name of raw bytes); redis-py, json and log handlers cannot encode those. The bytes
are kept, written as `\\xNN` escapes, so nothing the caller sent is lost or hidden, and nothing one
caller sends can stop the writes of the calls after it.
"""

from __future__ import annotations

MAX_FIELD_CHARS = 512  # a caller id, a URI, a header value
MAX_LINE_CHARS = 4000  # a transcript line
CUT = "…[cut]"


def safe_text(value: object, limit: int = MAX_FIELD_CHARS) -> str:
    """`value` as text any UTF-8 encoder accepts, at most `limit` characters (longer ones end in CUT)."""
    text = value if isinstance(value, str) else str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:  # surrogate-escaped bytes (pjsua2, os APIs): back to the bytes, then escape the invalid ones
            text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:  # lone surrogates from elsewhere (JSON \ud800): escape them as code points
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[: max(0, limit - len(CUT))] + CUT
