"""Contact-center voice bot: the call-session side and the local realtime engine."""
