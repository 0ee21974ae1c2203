"""The SIP/RTP edge on pjsua2: endpoint, calls, media ports and the worker process that runs them."""
