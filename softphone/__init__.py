"""A pjsua2 softphone that calls the bot, speaks, records and reports: the peer of the SIP tests,
the benches and `voicebot call`. Not part of the product's edge (bot/edge, sip/)."""
