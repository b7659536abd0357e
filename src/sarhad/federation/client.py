"""A small TAXII 2.1 client over httpx: what sync needs, with errors that say what went wrong."""

from __future__ import annotations

import json
from typing import Any

import httpx

from sarhad.core.errors import SarhadError
from sarhad.core.i18n import message
from sarhad.core.json_depth import TooDeep, loads

MEDIA = "application/taxii+json;version=2.1"


class PartnerUnreachable(SarhadError):
    """The partner's server did not answer (network down, node offline)."""

    status_code = 503


class PartnerProtocolError(SarhadError):
    """The partner answered, but not with what TAXII 2.1 promises."""

    status_code = 502


class TaxiiClient:
    """Talks to one TAXII 2.1 API root. ``token`` "basic:USER:PASSWORD" uses HTTP Basic."""

    def __init__(
        self,
        api_root: str,
        token: str | None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.api_root = api_root.rstrip("/") + "/"
        auth: httpx.Auth | None = None
        headers = {"Accept": MEDIA}
        if token and token.startswith("basic:"):
            user, _, password = token.removeprefix("basic:").partition(":")
            auth = httpx.BasicAuth(user, password)
        elif token:
            headers["Authorization"] = f"Bearer {token}"
        self.http = httpx.Client(headers=headers, auth=auth, timeout=timeout, transport=transport)

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def __enter__(self) -> TaxiiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.send(method, self.api_root + path, **kw)

    def send(
        self, method: str, url: str, *, allow: tuple[int, ...] = (), **kw: Any
    ) -> httpx.Response:
        """One request to the partner; no answer, a refused token or any error status not in
        ``allow`` raises, worded for the reader (every call to a partner comes through here)."""
        try:
            r = self.http.request(method, url, **kw)
        except httpx.TransportError as exc:
            raise PartnerUnreachable(
                message(
                    "partner.no_answer",
                    "{url} did not answer ({why})",
                    url=self.api_root,
                    why=type(exc).__name__,
                ),
                hint=message(
                    "partner.no_answer.hint",
                    "work waits and is sent in order when the partner is back",
                ),
            ) from exc
        if r.status_code in allow:
            return r
        if r.status_code in (401, 403):
            # Said in our words, with what to do: the partner's own wording of a refused token
            # is in its language, not the reader's, and says nothing about the remedy.
            raise PartnerProtocolError(
                message(
                    "partner.token_refused",
                    "{url} refused our token (HTTP {status})",
                    url=self.api_root,
                    status=r.status_code,
                ),
                hint=message(
                    "partner.token_refused.hint",
                    "ask the partner's liaison officer for a token and set it with "
                    "'sarhad partners set NAME --token TOKEN'",
                ),
            )
        if r.status_code >= 400:
            try:
                detail = loads(r.content)
                text = f"{detail.get('title', '')}: {detail.get('description', '')}"
            except (ValueError, AttributeError):  # not JSON, or JSON that is not an object
                text = r.text[:200]
            raise PartnerProtocolError(
                message(
                    "partner.answered",
                    "{method} {url} answered {status} {text}",
                    method=method,
                    url=url,
                    status=r.status_code,
                    text=text,
                )
            )
        return r

    def _json(self, r: httpx.Response) -> dict[str, Any]:
        try:
            body = loads(r.content)
        except TooDeep as exc:
            raise PartnerProtocolError(
                message(
                    "partner.json_refused",
                    "{url} answered with JSON refused: {why}",
                    url=r.request.url,
                    why=exc,
                )
            ) from exc
        except ValueError as exc:
            raise PartnerProtocolError(
                message(
                    "partner.not_json", "{url} answered with something not JSON", url=r.request.url
                )
            ) from exc
        if not isinstance(body, dict):
            raise PartnerProtocolError(
                message(
                    "partner.json_not_object",
                    "{url} answered with JSON that is not an object",
                    url=r.request.url,
                )
            )
        return body

    def collections(self) -> list[dict[str, Any]]:
        """The collections this token may see."""
        body = self._json(self._request("GET", "collections/"))
        cols = body.get("collections", [])
        if not isinstance(cols, list):
            raise PartnerProtocolError(
                message("partner.collections", "'collections' is not a list")
            )
        return [c for c in cols if isinstance(c, dict) and isinstance(c.get("id"), str)]

    def get_objects(
        self,
        collection_id: str,
        *,
        added_after: str | None = None,
        next_: str | None = None,
        limit: int = 500,
    ) -> tuple[list[Any], bool, str | None, str | None]:
        """One page: (objects, more, next, X-TAXII-Date-Added-Last)."""
        # Always send limit: medallion fails on `next` without it.
        params: dict[str, Any] = {"limit": limit}
        if added_after:
            params["added_after"] = added_after
        if next_:
            params["next"] = next_
        r = self._request("GET", f"collections/{collection_id}/objects/", params=params)
        body = self._json(r)
        objects = body.get("objects", [])
        if not isinstance(objects, list):
            raise PartnerProtocolError(message("partner.objects", "'objects' is not a list"))
        more = body.get("more") is True
        nxt = body.get("next") if isinstance(body.get("next"), str) else None
        return objects, more, nxt, r.headers.get("X-TAXII-Date-Added-Last")

    def add_objects(self, collection_id: str, objects: list[dict[str, Any]]) -> dict[str, Any]:
        """POST an envelope; returns the status resource."""
        content = json.dumps(
            {"objects": objects}, separators=(",", ":"), ensure_ascii=False
        ).encode()
        r = self._request(
            "POST",
            f"collections/{collection_id}/objects/",
            content=content,
            headers={"Content-Type": MEDIA},
        )
        return self._json(r)
