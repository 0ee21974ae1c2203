"""The supervisor's calls API (on its HTTP port, beside /metrics), for placing and following
outbound calls (bot/dialer.py):

  POST   /calls        {"uri": "sip:...", "instructions": "...", "variables": {...}, "amd": true, "record": true}  → 201 {"id": ...}
  GET    /calls/{id}   → 200 the request's state (queued, ringing, answered, ended; outcome, call_id...)
  DELETE /calls/{id}   → 202: the call is cancelled or hung up

Every request needs `Authorization: Bearer <VOICEBOT_API_KEY>`; without a configured key the API
answers 401 and says so. Errors are JSON: {"error": {"code": ..., "message": ...}}.
"""

from __future__ import annotations

import hmac
from typing import Any

from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.dialer import DialError, ask_hang_up, request_call, status

MAX_BODY = 64 * 1024
MAX_INSTRUCTIONS = 16 * 1024
MAX_VARIABLES = 50


def _error(status_code: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status_code)


def add_calls_api(app: web.Application, redis: Redis, key: str | None) -> None:
    def authorised(request: web.Request) -> web.Response | None:
        if key is None:
            return _error(401, "api_disabled", "the calls API needs VOICEBOT_API_KEY to be set")
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), key.encode()):
            return _error(401, "invalid_api_key", "missing or wrong key (Authorization: Bearer ...)")
        return None

    async def place(request: web.Request) -> web.Response:
        if (refused := authorised(request)) is not None:
            return refused
        if request.content_length is not None and request.content_length > MAX_BODY:
            return _error(413, "too_large", f"at most {MAX_BODY} bytes")
        try:
            body: Any = await request.json()
        except ValueError:
            return _error(400, "invalid_json", "the body is not JSON")
        if not isinstance(body, dict) or not isinstance(body.get("uri"), str):
            return _error(400, "missing_uri", 'expected {"uri": "sip:...", ...}')
        instructions = body.get("instructions")
        variables = body.get("variables") or {}
        if instructions is not None and (not isinstance(instructions, str) or len(instructions) > MAX_INSTRUCTIONS):
            return _error(400, "invalid_instructions", f"instructions: a string of at most {MAX_INSTRUCTIONS} chars")
        if not isinstance(variables, dict) or len(variables) > MAX_VARIABLES:
            return _error(400, "invalid_variables", f"variables: an object of at most {MAX_VARIABLES} names")
        try:
            dial_id = await request_call(
                redis,
                body["uri"],
                instructions,
                {str(k): str(v) for k, v in variables.items()},
                amd=body.get("amd") is not False,
                record=body.get("record") is not False,
            )
        except DialError as exc:
            return _error(400, "not_queued", str(exc))
        except (RedisError, OSError) as exc:
            return _error(503, "state_unavailable", f"Redis unreachable: {exc}")
        return web.json_response({"id": dial_id, "state": "queued"}, status=201)

    async def show(request: web.Request) -> web.Response:
        if (refused := authorised(request)) is not None:
            return refused
        try:
            found = await status(redis, request.match_info["id"])
        except (RedisError, OSError) as exc:
            return _error(503, "state_unavailable", f"Redis unreachable: {exc}")
        if not found:
            return _error(404, "not_found", "no such call request")
        return web.json_response({"id": request.match_info["id"], **found})

    async def hang_up(request: web.Request) -> web.Response:
        if (refused := authorised(request)) is not None:
            return refused
        try:
            known = await ask_hang_up(redis, request.match_info["id"])
        except (RedisError, OSError) as exc:
            return _error(503, "state_unavailable", f"Redis unreachable: {exc}")
        if not known:
            return _error(404, "not_found", "no such call request")
        return web.json_response({"id": request.match_info["id"], "hang_up": True}, status=202)

    app.router.add_post("/calls", place)
    app.router.add_get("/calls/{id}", show)
    app.router.add_delete("/calls/{id}", hang_up)
