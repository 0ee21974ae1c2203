"""The conversational brain behind the engine: decides what to say or which tool to call."""
