"""The call edge: one phone call bridged to a realtime engine, independent of any SIP stack.

`port` is what a call offers (the SIP adapter in `sip/` implements it), `session` drives it.
"""
