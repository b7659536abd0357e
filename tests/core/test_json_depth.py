"""JSON nested too deep is a 400 with a reason, measured before any parser recurses into it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sarhad.core.auth import Role
from sarhad.core.json_depth import MAX_DEPTH, nesting_depth
from support import LiveNode

DEEP = {
    "arrays": b"[" * 200_000,
    "objects": b'{"a":' * 50_000,
    "closed": b"[" * 5_000 + b"]" * 5_000,
}


def depth(value: Any) -> int:
    """The reference: nesting depth of a parsed value."""
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


# Strings full of what could fool a scanner: brackets, quotes and backslashes.
tricky = st.text(alphabet='[]{}"\\ab\n\u0600', max_size=12)
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | tricky,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(tricky, inner, max_size=4),
    max_leaves=40,
)


@given(values, st.booleans())
def test_depth_of_any_json_value_is_exact(value: Any, ascii_only: bool) -> None:
    raw = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert nesting_depth(raw) == depth(value)


def test_depth_is_measured_without_recursion() -> None:
    assert nesting_depth(DEEP["arrays"]) == 200_000
    assert nesting_depth(DEEP["objects"]) == 50_000
    assert nesting_depth(b'["]]]]", "\\"[[[[", {"a": [1]}]') == 3
    # An unterminated string hides nothing a parser could reach.
    assert nesting_depth(b'"' + b'\\"[' * 100_000) == 0


@pytest.mark.parametrize("kind", list(DEEP))
def test_the_api_refuses_deep_json_with_400(live: LiveNode, kind: str) -> None:
    with live.client(Role.DUTY_OFFICER) as c:
        r = c.post(
            "/api/v1/incidents",
            content=DEEP[kind],
            headers={"Content-Type": "application/json"},
        )
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "BadRequest"
    assert f"at most {MAX_DEPTH}" in error["message"]


def test_shallow_json_still_reaches_the_route(live: LiveNode) -> None:
    with live.client(Role.DUTY_OFFICER) as c:
        # A body sent in many chunks is put back together for the route.
        chunks = (part.encode() for part in ['{"title": "x"', ", ", '"category": 5}'])
        r = c.post(
            "/api/v1/incidents",
            content=chunks,
            headers={"Content-Type": "application/json"},
        )
    assert r.status_code == 422
    assert {f["field"] for f in r.json()["error"]["fields"]} >= {"title", "category"}
