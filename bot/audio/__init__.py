"""Audio shaping: G.711, resampling and the wire audio formats. Pure code, no asyncio."""
