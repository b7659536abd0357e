"""Security headers on every web console response (a pure ASGI middleware: streams pass)."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def csp(tiles_url: str | None = None) -> str:
    """Only the node's own origin, never inline script or style="" (see docs/web.md).

    A site's own tile server (``tiles_url``) is the one other origin images may come from.
    """
    tiles = ""
    if tiles_url:
        parts = urlsplit(tiles_url.replace("{", "").replace("}", ""))
        tiles = f" {parts.scheme}://{parts.netloc}"
    return (
        f"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:"
        f"{tiles}; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


CSP = csp()


def headers(tiles_url: str | None = None) -> tuple[tuple[bytes, bytes], ...]:
    """The security headers of a console response."""
    return (
        (b"content-security-policy", csp(tiles_url).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"x-frame-options", b"DENY"),
    )


HEADERS = headers()
#: Machine interfaces: JSON and TAXII clients, not browsers rendering pages.
SKIPPED = ("/api/", "/taxii2/")


class SecurityHeaders:
    """Add CSP and friends to responses outside the API; a header already set is kept
    (the public status page sends its own, stricter CSP)."""

    def __init__(self, app: ASGIApp, tiles_url: str | None = None) -> None:
        self.app = app
        self.headers = headers(tiles_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(SKIPPED):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((n, v) for n, v in self.headers if n not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
