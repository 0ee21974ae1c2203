"""The OpenAI Realtime / Azure Voice Live wire protocol: typed events, ids, dialects. No asyncio."""
