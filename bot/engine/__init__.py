"""The local realtime engine: a WebSocket server speaking the Realtime protocol over offline models."""
