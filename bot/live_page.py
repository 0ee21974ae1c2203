"""The live-calls page at `/` on `voicebot run`'s HTTP port (plain HTML and JS, bot/page/live.html;
its data from bot/live_calls.py), and who may see it.

With `VOICEBOT_API_KEY` set, the page and its data need the key: `/?key=...` once (it becomes a
strict same-site cookie) or `Authorization: Bearer ...`. Without a key the page is served only while
the port listens on loopback; listening beyond it, the page refuses and says why.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable
from importlib import resources

from aiohttp import web

COOKIE = "voicebot_key"
GUARDED = ("/live/", "/recordings/")


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def add_live_page(app: web.Application, key: str | None, host: str) -> None:
    page = resources.files("bot.page").joinpath("live.html").read_text()
    open_page = key is None and _loopback(host)

    def allowed(request: web.Request) -> bool:
        if open_page:
            return True
        if key is None:
            return False
        given = request.cookies.get(COOKIE) or request.headers.get("Authorization", "").removeprefix("Bearer ")
        return hmac.compare_digest(given.strip().encode(), key.encode())

    def refused() -> web.Response:
        why = ("set VOICEBOT_API_KEY: the page listens beyond loopback" if key is None
               else "open /?key=<VOICEBOT_API_KEY> once, or send Authorization: Bearer <key>")  # fmt: skip
        return web.json_response({"error": {"code": "unauthorised", "message": why}}, status=401)

    async def index(request: web.Request) -> web.Response:
        given = request.query.get("key")
        if key is not None and given is not None and hmac.compare_digest(given.encode(), key.encode()):
            response = web.HTTPFound("/")  # (the key leaves the address bar and the history)
            response.set_cookie(COOKIE, key, httponly=True, samesite="Strict")
            raise response
        if not allowed(request):
            return refused()
        return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})

    @web.middleware
    async def guard(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                    ) -> web.StreamResponse:  # fmt: skip
        if request.path.startswith(GUARDED) and not allowed(request):
            return refused()
        return await handler(request)

    app.middlewares.append(guard)
    app.router.add_get("/", index)
