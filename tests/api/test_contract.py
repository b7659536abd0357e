"""The parameter contract of the API on a real node: strict types, calendar edges, the border's
own sides and sectors, empty values, OPTIONS, and a document that says all of it."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import httpx
import pytest

from sarhad.core.auth import Role
from sarhad.crossings.timeline import Period, Schedule, fixed_zone, next_opening, state_at
from support import LiveNode

PKT = fixed_zone("PKT", 5 * 60)


def fields(r: httpx.Response) -> list[str]:
    """The fields a 422 names."""
    assert r.status_code == 422, (r.status_code, r.text)
    return [f["field"] for f in r.json()["error"]["fields"]]


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
@pytest.mark.parametrize(
    "path", ["/api/v1/crossings", "/api/v1/crossings.geojson", "/api/v1/crossings/taftan-mirjaveh"]
)
def test_a_moment_at_the_edge_of_the_calendar_is_422_not_a_crash(
    live: LiveNode, path: str, at: str
) -> None:
    with live.client(Role.ANALYST) as c:
        r = c.get(path, params={"at": at})
    assert fields(r) == ["at"]
    assert "outside the years 1900 to 2199" in r.json()["error"]["message"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/crossings", {"at": "0.5"}, "at"),  # a number is not a time
        ("/api/v1/crossings", {"at": "1700000000"}, "at"),
        ("/api/v1/crossings", {"at": "2026-11-21T06:00:00"}, "at"),  # which zone? PKT or IRST?
        ("/api/v1/crossings/declarations", {"start": "0.5"}, "start"),
        ("/api/v1/crossings/throughput", {"last": "0"}, "last"),
        ("/api/v1/crossings/throughput", {"first": "0001-01-01"}, "first"),
        ("/api/v1/patrols/plans", {"day": "0"}, "day"),
        ("/api/v1/incidents", {"since": "1"}, "since"),
        ("/api/v1/risk", {"at": "0.5"}, "at"),
        ("/api/v1/alerts/stats", {"month": "0000-01"}, "month"),
        ("/api/v1/crossings/report", {"month": "9999-12"}, "month"),
    ],
)
def test_times_and_dates_are_iso_text_in_range(
    live: LiveNode, path: str, params: dict[str, str], field: str
) -> None:
    with live.client(Role.ADMIN) as c:
        assert fields(c.get(path, params=params)) == [field]


def test_an_iso_time_with_its_zone_is_read_as_that_moment(live: LiveNode) -> None:
    with live.client(Role.ANALYST) as c:
        utc = c.get("/api/v1/risk", params={"at": "2026-11-21T01:00:00Z"})
        pkt = c.get("/api/v1/risk", params={"at": "2026-11-21T06:00:00+05:00"})
    assert utc.status_code == pkt.status_code == 200
    assert utc.json()["at"] == pkt.json()["at"] == "2026-11-21T01:00:00+00:00"


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/incidents", {"side": "AF"}, "side"),
        ("/api/v1/incidents", {"side": ["PK", "XX"]}, "side"),
        ("/api/v1/incidents", {"reporting_side": "AF"}, "reporting_side"),
        ("/api/v1/incidents", {"sector": "PKIR-999"}, "sector"),
        ("/api/v1/incidents", {"format": "map", "sector": "nowhere"}, "sector"),
        ("/api/v1/crossings/declarations", {"side": "AF"}, "side"),
        ("/api/v1/crossings/throughput", {"side": "pk"}, "side"),
        ("/api/v1/crossings/declarations", {"crossing": "khyber"}, "crossing"),
        ("/api/v1/crossings/report", {"month": "2026-11", "side": "AF"}, "side"),
        ("/api/v1/alerts/stats", {"side": "AF"}, "side"),
    ],
)
def test_an_unknown_side_sector_or_crossing_is_422_naming_it(
    live: LiveNode, path: str, params: dict[str, object], field: str
) -> None:
    with live.client(Role.ADMIN) as c:
        r = c.get(path, params=params)
    assert fields(r) == [field]
    assert "of this border" in r.json()["error"]["message"]


def test_known_sides_and_sectors_filter(live: LiveNode) -> None:
    with live.client(Role.ADMIN) as c:
        r = c.get("/api/v1/incidents", params={"side": ["PK", "IR"], "sector": "PKIR-007"})
        assert r.status_code == 200 and r.json()["items"] == []


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/incidents", {"side": "", "sector": "", "bbox": "", "since": "", "cursor": ""}),
        ("/api/v1/incidents", {"format": "", "limit": "", "status": ""}),
        ("/api/v1/alerts/stats", {"month": "", "side": ""}),
        ("/api/v1/crossings/throughput", {"first": "", "side": "", "crossing": ""}),
        ("/api/v1/crossings", {"at": "", "lang": ""}),
        ("/api/v1/patrols/plans", {"day": ""}),
    ],
)
def test_an_empty_value_is_as_if_left_out(
    live: LiveNode, path: str, params: dict[str, str]
) -> None:
    """What a browser form sends for an empty field: the parameter's default, not a 422."""
    with live.client(Role.ADMIN) as c:
        given = c.get(path, params=params)
        left_out = c.get(path)
    assert given.status_code == 200, given.text
    assert given.headers["content-type"] == left_out.headers["content-type"]


def test_a_required_parameter_left_empty_is_missing(live: LiveNode) -> None:
    with live.client(Role.ADMIN) as c:
        r = c.get("/api/v1/crossings/report", params={"month": ""})
    assert fields(r) == ["month"]


def test_published_0_is_not_false_and_the_crossing_stays_published(live: LiveNode) -> None:
    url = "/api/v1/crossings/taftan-mirjaveh/publication"
    with live.client(Role.ADMIN) as c:
        assert c.put(url, json={"published": True}).json()["published"] is True
        for loose in (0, "false", "no", None, 0.0):
            assert fields(c.put(url, json={"published": loose})) == ["published"]
        board = {r["crossing"]: r for r in c.get("/api/v1/crossings").json()}
        assert board["taftan-mirjaveh"]["published"] is True
        assert c.put(url, json={"published": False}).json()["published"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"seed": False}, "seed"),
        ({"seed": "7"}, "seed"),
        ({"teams": True}, "teams"),
        ({"teams": "3"}, "teams"),
        ({"coordinated": 1}, "coordinated"),
        ({"coordinated": "true"}, "coordinated"),
        ({"day": 20261121}, "day"),
    ],
)
def test_plan_bodies_take_json_types_strictly(live: LiveNode, body: dict, field: str) -> None:
    with live.client(Role.ADMIN) as c:
        r = c.post("/api/v1/patrols/plans", json={"day": "2026-11-21", **body})
        assert fields(r) == [field]
        assert c.get("/api/v1/patrols/plans").json() == []  # nothing was planned


def test_strict_bodies_still_read_dates_enums_and_whole_numbers(live: LiveNode) -> None:
    """JSON has no date type and one number type: ISO text is a date, 5.0 is the integer 5."""
    with live.client(Role.ADMIN) as c:
        r = c.post(
            "/api/v1/crossings/throughput",
            json={
                "crossing": "taftan-mirjaveh",
                "day": "2026-01-10",
                "trucks": 5.0,
                "tlp": "green",
            },
        )
        assert r.status_code == 201, r.text
        assert r.json()["trucks"] == 5
        assert fields(
            c.post(
                "/api/v1/crossings/throughput",
                json={"crossing": "taftan-mirjaveh", "day": "2026-01-10", "trucks": 5.5},
            )
        ) == ["trucks"]


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/api/v1/incidents", "GET, POST, OPTIONS"),
        ("/api/v1/incidents/any-id", "GET, PATCH, OPTIONS"),
        ("/api/v1/crossings/taftan-mirjaveh/hours", "GET, PUT, OPTIONS"),
        ("/api/v1/me", "GET, OPTIONS"),
    ],
)
def test_options_and_405_name_every_method_of_the_path(
    live: LiveNode, path: str, allow: str
) -> None:
    with live.client(role=None) as c:  # no token needed to ask what a path allows
        options = c.options(path)
        assert options.status_code == 204 and options.headers["allow"] == allow
    with live.client(Role.ADMIN) as c:
        wrong = c.delete(path)
        assert wrong.status_code == 405 and wrong.headers["allow"] == allow
        assert wrong.json()["error"]["code"] == "HTTPError"


def test_the_document_states_the_contract(live: LiveNode) -> None:
    with live.client(role=None) as c:
        spec = c.get("/openapi.json").json()
    paths = spec["paths"]
    incidents = {p["name"]: p for p in paths["/api/v1/incidents"]["get"]["parameters"]}
    assert incidents["side"]["schema"]["items"]["enum"] == ["PK", "IR"]
    assert len(incidents["sector"]["schema"]["items"]["enum"]) == 82
    assert incidents["side"]["allowEmptyValue"] is True
    since = incidents["since"]["schema"]
    assert since["format"] == "date-time" and since["pattern"].startswith("^(19")
    declarations = paths["/api/v1/crossings/declarations"]["get"]
    assert set(declarations["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    assert (
        "application/geo+json"
        in paths["/api/v1/crossings.geojson"]["get"]["responses"]["200"]["content"]
    )
    # every API operation lists the errors it can give, in the one error shape
    for path, operations in paths.items():
        if not path.startswith("/api/v1/"):
            continue
        for method, op in operations.items():
            statuses = set(op["responses"])
            assert {"401", "403"} <= statuses, (method, path)
            query = [p for p in op.get("parameters", []) if p["in"] == "query"]
            if query or op.get("requestBody"):
                assert "422" in statuses, (method, path)
            if "{" in path:
                assert "404" in statuses, (method, path)
            error = op["responses"]["401"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/ErrorBody"}
    body = spec["components"]["schemas"]["IncidentIn"]["properties"]["reporting_side"]
    assert body["enum"] == ["PK", "IR"]


def test_the_live_feed_keeps_its_documented_contract(live: LiveNode) -> None:
    """The one operation schemathesis leaves out (a stream without end): its statuses."""
    with live.client(Role.ANALYST) as c:
        documented = c.get("/openapi.json").json()["paths"]["/api/v1/feed"]["get"]["responses"]
        assert "text/event-stream" in documented["200"]["content"]
        assert {"401", "403", "422"} <= set(documented)
        with c.stream("GET", "/api/v1/feed", params={"after": "0"}) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
        assert fields(c.get("/api/v1/feed", params={"after": "soon"})) == ["after"]
        assert fields(c.get("/api/v1/feed", params={"entities": "rumour"})) == ["entities"]
    with live.client(role=None) as c:
        assert c.get("/api/v1/feed").status_code == 401


# -- the timeline itself, at the ends of the calendar (no API in front of it) ------------------


@pytest.mark.parametrize(
    "at",
    [
        datetime.min.replace(tzinfo=UTC),
        datetime.min.replace(tzinfo=UTC) + timedelta(hours=5),
        datetime.max.replace(tzinfo=UTC),
        datetime.max.replace(tzinfo=UTC) - timedelta(days=10),
    ],
)
def test_the_timeline_answers_at_any_moment_without_overflowing(at: datetime) -> None:
    hours = Schedule(days=frozenset(range(6)), opens=time(8), closes_min=17 * 60, tz=PKT)
    start = at - timedelta(days=1) if at.year > 1 else at
    closed = Period("c", "closed", "security_incident", start, None)
    for schedule in (None, hours):
        for periods in ([], [closed]):
            state = state_at(periods, schedule, at)
            assert state.status in {"open", "closed"}
            opening = next_opening(periods, schedule, at)
            assert opening is None or isinstance(opening, datetime)
