"""JSON request bodies nested too deep are refused before any parser recurses into them.

Python's ``json`` parses recursively and has no depth limit: a body of 200,000 ``[`` or
``{"a":`` nested 50,000 deep ends in RecursionError somewhere inside the parser (a 500 where
nobody catches it), and a value just under the interpreter's limit can still break code that
walks it later. :func:`nesting_depth` measures the depth of the raw bytes without parsing;
:class:`JsonDepthLimit` (an ASGI middleware the app installs once, for ``/api/v1`` and
``/taxii2/`` alike) answers 400 for any JSON body deeper than :data:`MAX_DEPTH`, and
:func:`loads` guards the JSON a node reads elsewhere (a partner's answers, bundle files).

Written by hand because neither the standard library nor our dependencies offer a depth
limit. The loops run in C (``re`` and numpy): about 30 ms per MiB of STIX on a 2-vCPU machine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import numpy as np
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sarhad.core.api import error_body

#: The deepest JSON body accepted. Ours are 7 levels deep at most (a TAXII envelope holding an
#: incident's casualties); 100 leaves room for any honest client.
MAX_DEPTH = 100
#: Bodies larger than this are not buffered for the scan; the routes' own size limits answer.
MAX_SCAN = 16 * 1024 * 1024

# A JSON string, escapes included. The closing quote is optional and the repetition
# possessive, so an unterminated string runs to the end instead of being retried from every
# later quote (which would be quadratic). Brackets inside strings are not nesting.
_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"?', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = np.zeros(256, dtype=np.int8)
_STEP[list(b"[{")] = 1
_STEP[list(b"]}")] = -1


def nesting_depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in ``raw`` (0 for a scalar).

    Exact for valid JSON; for invalid JSON it is at least the depth a parser reaches before
    it fails at the first error, so the check never lets a parser recurse further than this.
    """
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    steps = _STEP[np.frombuffer(brackets, dtype=np.uint8)]
    return max(0, int(np.cumsum(steps, dtype=np.int64).max()))


def too_deep(raw: bytes, limit: int = MAX_DEPTH) -> str | None:
    """Why ``raw`` is refused (a message for the client), or None when it is shallow enough."""
    depth = nesting_depth(raw)
    if depth <= limit:
        return None
    return f"the JSON body is nested {depth} levels deep; at most {limit} are accepted"


class TooDeep(ValueError):
    """JSON nested deeper than the limit (a ValueError, as ``json``'s own errors are)."""


def loads(raw: bytes | str, *, limit: int = MAX_DEPTH) -> Any:
    """``json.loads`` for bytes nobody vouches for (a partner's answer, a file): JSON nested
    deeper than ``limit`` raises :class:`TooDeep` before the parser sees it."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    why = too_deep(data, limit)
    if why is not None:
        raise TooDeep(why.replace("the JSON body", "the JSON"))
    return json.loads(data)


def api_answer(_scope: Scope, message: str) -> Response:
    """The API's own error shape (the default answer of :class:`JsonDepthLimit`)."""
    body = error_body("BadRequest", message, hint=f"send JSON nested at most {MAX_DEPTH} deep")
    return JSONResponse(body, status_code=400)


Answer = Callable[[Scope, str], Response]


def _json_body(scope: Scope) -> bool:
    """Whether the request declares a JSON body (or no type, which FastAPI may read as JSON)."""
    ctype = ""
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            ctype = value.decode("latin-1").split(";", 1)[0].strip().lower()
    return not ctype or ctype == "application/json" or ctype.endswith("+json")


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


class JsonDepthLimit:
    """Answer 400 for a JSON request body nested deeper than ``max_depth``.

    The body is read first (it would be anyway: every JSON route reads it whole) and handed
    on unchanged; ``answer`` builds the response, so each interface keeps its error shape.
    A client that disconnects while sending gets nothing, and nothing runs for it.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_depth: int = MAX_DEPTH,
        max_scan: int = MAX_SCAN,
        answer: Answer = api_answer,
    ) -> None:
        self.app, self.max_depth, self.max_scan, self.answer = app, max_depth, max_scan, answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Scan the body of a JSON request, then answer 400 or pass the request on."""
        if (
            scope["type"] != "http"
            or scope["method"] in ("GET", "HEAD", "OPTIONS")
            or not _json_body(scope)
            or (_declared_length(scope) or 0) > self.max_scan
        ):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more and size <= self.max_scan:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client is gone: nothing to answer, nothing to run
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if not more:  # a body larger than max_scan is left to the route's own size limit
            why = too_deep(body, self.max_depth)
            if why is not None:
                await self.answer(scope, why)(scope, receive, send)
                return
        first: Message | None = {"type": "http.request", "body": body, "more_body": more}

        async def replay() -> Message:
            nonlocal first
            if first is not None:
                message, first = first, None
                return message
            return await receive()

        await self.app(scope, replay, send)
