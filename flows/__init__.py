"""Business logic exposed to the bot as tools: typed functions, no SIP, no audio."""
