from __future__ import annotations

from bot.turn_policies.idle import IdleAction, IdlePolicy


def run(policy: IdlePolicy, until_ms: int, step_ms: int = 100) -> list[tuple[int, IdleAction]]:
    """Silence from 0 to `until_ms`; the bot 'speaks' for 1 s after each action."""
    out = []
    speaking_until = -1
    for now in range(0, until_ms, step_ms):
        if now < speaking_until:
            policy.bot_speaking()
            continue
        policy.quiet(now)
        action = policy.due(now)
        if action:
            out.append((now, action))
            if action is IdleAction.HANG_UP:
                break
            speaking_until = now + 1000
    return out


def test_reprompts_then_hangs_up() -> None:
    events = run(IdlePolicy(timeout_ms=3000, max_reprompts=2), 20_000)
    assert events == [(3000, IdleAction.REPROMPT), (7000, IdleAction.REPROMPT), (11000, IdleAction.HANG_UP)]


def test_caller_speech_resets_the_count() -> None:
    p = IdlePolicy(timeout_ms=1000, max_reprompts=1)
    p.quiet(0)
    assert p.due(1000) is IdleAction.REPROMPT
    p.caller_active(1500)
    p.quiet(2000)
    assert p.due(2999) is None
    assert p.due(3000) is IdleAction.REPROMPT  # a fresh count, not a hang-up
