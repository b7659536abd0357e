"""A partner's sync error is kept coded and read in the reader's language (issue 17).

The error of the last round with a partner is stored as its code and params beside the
English wording (migration 0020); the CLI, the API and the console word it for their reader.
An error kept before it had a code still shows, in English.
"""

from __future__ import annotations

import json

from sqlalchemy import select

from sarhad.core.auth import Role
from sarhad.core.i18n import translate
from sarhad.federation.models import SyncCursor
from sarhad.sharing.models import Partner

from .conftest import Pair
from .helpers import record
from .test_federation_cli import run

DOWN = "http://127.0.0.1:9/taxii2/api/"


def _cursor(pair: Pair) -> SyncCursor:
    with pair.ir.db.session() as s:
        partner = s.scalars(select(Partner).where(Partner.name == "pk-node")).one()
        cur = s.get(SyncCursor, partner.id)
        assert cur is not None
        s.expunge(cur)
        return cur


def test_a_sync_error_is_kept_coded_and_worded_for_each_reader(pair: Pair) -> None:
    assert run(pair.ir, "partners", "set", "pk-node", "--url", DOWN).exit_code == 0
    record(pair.ir, reporting_side="IR")
    said = run(pair.ir, "--lang", "fa", "sync", "--json")
    assert said.exit_code == 1, said.output
    (row,) = json.loads(said.output)
    assert row["error_code"] == "partner.no_answer"
    persian = translate("partner.no_answer", row["error_params"], "fa")
    assert row["error"] == persian and "پاسخ" in persian and "did not answer" not in persian

    cur = _cursor(pair)  # stored: the code and params, and the English wording beside them
    assert cur.last_error_code == "partner.no_answer"
    assert cur.last_error_params == {"url": DOWN, "why": "ConnectError"}
    assert cur.last_error == f"{DOWN} did not answer (ConnectError)"

    status = json.loads(run(pair.ir, "--lang", "ur", "federation", "status", "--json").output)
    assert status[0]["last_error_code"] == "partner.no_answer"
    assert status[0]["last_error"] == translate("partner.no_answer", cur.last_error_params, "ur")
    table = run(pair.ir, "--lang", "fa", "federation", "status")
    assert "پاسخ" in table.output and "did not answer" not in table.output

    with pair.ir.client(Role.LIAISON) as liaison:
        got = liaison.get("/api/v1/federation/status", headers={"Accept-Language": "fa"}).json()
        assert got[0]["last_error"] == persian
        assert got[0]["last_error_code"] == "partner.no_answer"
        assert got[0]["last_error_params"] == {"url": DOWN, "why": "ConnectError"}
        english = liaison.get("/api/v1/federation/status").json()
        assert english[0]["last_error"] == cur.last_error
        synced = liaison.post(
            "/api/v1/federation/sync",
            params={"partner": "pk-node"},
            headers={"Accept-Language": "ur"},
        ).json()
        assert synced[0]["error_code"] == "partner.no_answer"
        assert synced[0]["error"] == translate("partner.no_answer", synced[0]["error_params"], "ur")


def test_an_error_kept_before_it_had_a_code_shows_as_it_was(pair: Pair) -> None:
    assert run(pair.ir, "sync").exit_code == 0
    with pair.ir.db.session() as s:
        cur = s.scalars(select(SyncCursor)).one()
        cur.last_error, cur.last_error_code, cur.last_error_params = "old words", None, None
    status = json.loads(run(pair.ir, "--lang", "fa", "federation", "status", "--json").output)
    assert status[0]["last_error"] == "old words" and status[0]["last_error_code"] is None


def test_a_round_that_goes_well_clears_the_error(pair: Pair) -> None:
    assert run(pair.ir, "partners", "set", "pk-node", "--url", DOWN).exit_code == 0
    assert run(pair.ir, "sync").exit_code == 1
    assert (
        run(pair.ir, "partners", "set", "pk-node", "--url", pair.pk.url + "/taxii2/api/").exit_code
        == 0
    )
    assert run(pair.ir, "sync").exit_code == 0
    cur = _cursor(pair)
    assert (cur.last_error, cur.last_error_code, cur.last_error_params) == (None, None, None)


def test_a_refused_token_is_said_in_our_words_with_what_to_do(pair: Pair) -> None:
    # The partner answers 401 in its own (English) words; the reader gets ours, in Persian.
    assert run(pair.ir, "partners", "set", "pk-node", "--token", "not-a-token").exit_code == 0
    said = run(pair.ir, "--lang", "fa", "sync", "--json")
    assert said.exit_code == 1, said.output
    (row,) = json.loads(said.output)
    assert row["error_code"] == "partner.token_refused"
    assert row["error_params"]["status"] == 401
    assert "توکن" in row["error"] and "token" not in row["error"].lower()
    assert "API token is required" not in row["error"]
