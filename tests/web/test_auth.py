"""Sign-in, sessions, CSRF and throttling of the web console, against a real node."""

from __future__ import annotations

from http.cookies import SimpleCookie

import pytest
from sqlalchemy import select

from sarhad.core.auth import CONSOLE, Role, check_password, set_password
from sarhad.core.errors import InvalidInput
from sarhad.core.journal import AuditLog
from sarhad.web.models import WebSession
from web.helpers import PASSWORD, csrf_of, sign_in, username

INCIDENT = {
    "title": "Fuel smugglers stopped near Taftan",
    "category": "smuggling_fuel",
    "occurred_at": "2026-11-20T06:00:00Z",
    "location": {"lon": 61.59, "lat": 29.0},
    "reporting_side": "PK",
}


def _cookie(response, name: str):
    for header in response.headers.get_list("set-cookie"):
        jar = SimpleCookie()
        jar.load(header)
        if name in jar:
            return jar[name], header
    raise AssertionError(f"no {name} cookie set")


def test_password_rules_and_check(db):
    from sarhad.core.auth import add_user

    with db.session() as s:
        add_user(s, username="desk-1", role=Role.DUTY_OFFICER, actor=CONSOLE.username)
        with pytest.raises(InvalidInput) as short:
            set_password(s, username="desk-1", password="too-short", actor=CONSOLE.username)
        assert short.value.errors[0].field == "password"
        set_password(s, username="desk-1", password=PASSWORD, actor=CONSOLE.username)
    with db.session() as s:
        assert check_password(s, username="desk-1", password=PASSWORD) is not None
        assert check_password(s, username="desk-1", password=PASSWORD + "x") is None
        assert check_password(s, username="nobody", password=PASSWORD) is None
        stored = s.scalar(select(AuditLog.detail).where(AuditLog.action == "user.password"))
    assert PASSWORD not in str(stored)


def test_sign_in_sets_a_strict_http_only_cookie_and_sign_out_ends_it(web, browser):
    client = browser()
    r = sign_in(client, username(Role.DUTY_OFFICER))
    assert r.status_code == 303 and r.headers["location"] == "/"
    morsel, header = _cookie(r, "sarhad_session")
    assert morsel["httponly"] is True
    assert morsel["samesite"].lower() == "strict"
    assert morsel["path"] == "/"
    assert "secure" not in header.lower()  # plain http on loopback
    with web.db.session() as s:
        assert s.scalar(select(WebSession.id)) != morsel.value  # only the hash is stored

    home = client.get("/")
    assert home.status_code == 200
    token = csrf_of(home.text)
    out = client.post("/signout", data={"csrf_token": token})
    assert out.status_code == 303
    assert client.get("/").status_code == 303  # back to the sign-in page
    with web.db.session() as s:
        assert s.scalar(select(WebSession.id)) is None
        actions = list(s.scalars(select(AuditLog.action).where(AuditLog.action.like("web.%"))))
    assert actions == ["web.signin", "web.signout"]


def test_not_signed_in_goes_to_sign_in_with_next(browser):
    r = browser().get("/incidents?status=draft")
    assert r.status_code == 303
    assert r.headers["location"] == "/signin?next=%2Fincidents%3Fstatus%3Ddraft"


def test_sign_in_goes_back_to_next_but_never_off_site(web, browser):
    client = browser()
    form = client.get("/signin?next=/alerts")
    assert 'name="next" value="/alerts"' in form.text
    for target, expected in (("/alerts", "/alerts"), ("//evil.example/x", "/")):
        c = browser()
        c.get("/signin")
        r = c.post(
            "/signin",
            data={
                "username": username(Role.LIAISON),
                "password": PASSWORD,
                "csrf_token": c.cookies["sarhad_signin"],
                "next": target,
            },
        )
        assert r.headers["location"] == expected


def test_wrong_password_is_refused_and_audited_without_the_password(web, browser):
    r = sign_in(browser(), username(Role.ANALYST), "wrong password here")
    assert r.status_code == 401
    assert "Wrong user name or password" in r.text
    assert "sarhad_session" not in r.headers.get("set-cookie", "")
    with web.db.session() as s:
        row = s.scalar(select(AuditLog).where(AuditLog.action == "web.signin.failed"))
    assert row is not None and row.detail["username"] == username(Role.ANALYST)
    assert "wrong password" not in str(row.detail)


def test_sign_in_form_needs_its_csrf_token(web, browser):
    client = browser()
    client.get("/signin")
    r = client.post(
        "/signin",
        data={"username": username(Role.ADMIN), "password": PASSWORD, "csrf_token": "forged"},
    )
    assert r.status_code == 403
    assert "sarhad_session" not in r.headers.get("set-cookie", "")


def test_post_without_csrf_token_is_refused(browser):
    client = browser(Role.DUTY_OFFICER)
    r = client.post("/signout")
    assert r.status_code == 403
    assert "not sent from this console" in r.text
    assert client.get("/").status_code == 200  # still signed in


def test_api_accepts_the_session_cookie_and_needs_the_csrf_header_to_write(browser):
    client = browser(Role.DUTY_OFFICER)
    listed = client.get("/api/v1/incidents")
    assert listed.status_code == 200 and listed.json()["items"] == []
    refused = client.post("/api/v1/incidents", json=INCIDENT)
    assert refused.status_code == 403
    assert "X-CSRF-Token" in refused.json()["error"]["message"]
    wrong = client.post("/api/v1/incidents", json=INCIDENT, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    token = csrf_of(client.get("/").text)
    made = client.post("/api/v1/incidents", json=INCIDENT, headers={"X-CSRF-Token": token})
    assert made.status_code == 201, made.text
    assert client.get("/api/v1/incidents").json()["items"][0]["title"] == INCIDENT["title"]


def test_api_cookie_keeps_the_roles_of_the_api(browser):
    analyst = browser(Role.ANALYST)  # may read incidents, may not write them
    token = csrf_of(analyst.get("/").text)
    r = analyst.post("/api/v1/incidents", json=INCIDENT, headers={"X-CSRF-Token": token})
    assert r.status_code == 403


def test_bearer_tokens_work_as_before(web):
    with web.client(Role.DUTY_OFFICER) as c:
        assert c.post("/api/v1/incidents", json=INCIDENT).status_code == 201
    with web.client(None) as c:
        assert c.get("/api/v1/incidents").status_code == 401


def test_five_failures_throttle_the_account_and_say_when_to_retry(web, browser):
    name = username(Role.COMMANDER)
    for _ in range(4):
        assert sign_in(browser(), name, "not the password!").status_code == 401
    fifth = sign_in(browser(), name, "not the password!")
    assert fifth.status_code == 429
    assert "Too many failed attempts" in fifth.text
    assert "data-deadline=" in fifth.text
    # now even the right password is refused until the delay is over
    refused = sign_in(browser(), name, PASSWORD)
    assert refused.status_code == 429
    assert "sarhad_session" not in refused.headers.get("set-cookie", "")
    # another account from another address is not affected (throttling is per name here)
    with web.db.session() as s:
        actions = list(s.scalars(select(AuditLog.action).where(AuditLog.action.like("web.%"))))
    assert actions.count("web.signin.failed") == 5
    assert actions[-1] == "web.signin.throttled"


def test_delay_doubles_with_each_further_failure():
    from datetime import UTC, datetime, timedelta

    from sarhad.web.auth import FIRST_DELAY, _retry_at

    now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    fails = [now - timedelta(seconds=10 * i) for i in range(5)]
    assert _retry_at(fails[1:], now) is None  # four failures: no delay yet
    assert _retry_at(fails, now) == now + FIRST_DELAY
    assert _retry_at([*fails, now - timedelta(seconds=60)], now) == now + 2 * FIRST_DELAY
    old = [now - timedelta(minutes=16 + i) for i in range(5)]
    assert _retry_at(old, now) is None  # outside the 15-minute window


def test_cli_sets_passwords_from_stdin_and_from_a_hidden_prompt(settings, db):
    from typer.testing import CliRunner

    from sarhad.cli import app

    env = {
        "SARHAD_DATA_DIR": str(settings.data_dir),
        "SARHAD_DATABASE_URL": settings.database_url,
        "SARHAD_NODE_SIDE": "PK",
    }
    made = CliRunner().invoke(
        app,
        ["users", "add", "taftan-duty", "--role", "duty_officer", "--password-stdin"],
        input=PASSWORD + "\n",
        env=env,
    )
    assert made.exit_code == 0, made.output
    assert "srh_" in made.output  # the token is still printed
    short = CliRunner().invoke(
        app,
        ["users", "add", "gabd-duty", "--role", "duty_officer", "--password-stdin"],
        input="short\n",
        env=env,
    )
    assert short.exit_code != 0 and "password" in short.output
    changed = CliRunner().invoke(
        app,
        ["users", "password", "taftan-duty"],
        input="a new passphrase\na new passphrase\n",
        env=env,
    )
    assert changed.exit_code == 0, changed.output
    assert "a new passphrase" not in changed.output  # typed hidden
    with db.session() as s:
        assert check_password(s, username="taftan-duty", password="a new passphrase")
        assert check_password(s, username="taftan-duty", password=PASSWORD) is None
        assert check_password(s, username="gabd-duty", password="short") is None


def test_a_sites_own_tile_server_is_the_only_other_image_origin() -> None:
    from sarhad.web.security import csp

    assert "img-src 'self' data: blob:;" in csp(None)
    with_tiles = csp("http://tiles.kech.local:8080/{z}/{x}/{y}.png")
    assert "img-src 'self' data: blob: http://tiles.kech.local:8080;" in with_tiles
    assert "script-src 'self';" in with_tiles and "'unsafe-inline'" not in with_tiles
