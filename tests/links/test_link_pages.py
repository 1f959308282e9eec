"""Bad links over HTTP: one identical "not valid" page, status 400, never a 500, nothing journaled or sent."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from link_helpers import NEW_KEY, OLD_KEY, journal_entries
from test_link_tokens import REJECTED_TOKENS

from app.identity import Recipient
from app.links import LinkClaims, mint

NEWSLETTER = {"job_id": "18099", "list_id": "17914", "batch_id": "0"}


def _requests(client: FlaskClient, token: str) -> dict[str, Any]:
    url = f"/unsubscribe?t={token}"
    return {
        "GET": client.get(url),
        "POST form": client.post(url, data={"scope": "list", "reason": "too_many"}),
        "POST one-click": client.post(url, data={"List-Unsubscribe": "One-Click"}),
        "POST one-click multipart": client.post(
            url, data={"List-Unsubscribe": "One-Click"}, content_type="multipart/form-data"
        ),
    }


def test_every_bad_link_gets_the_same_page_with_400_and_leaves_no_trace(
    app: Flask, client: FlaskClient, emulator: Any
) -> None:
    cases = {name: make() for name, make in REJECTED_TOKENS.items()}
    cases["missing t"] = None
    bodies = set()
    for name, token in cases.items():
        responses = (
            {"GET": client.get("/unsubscribe"), "POST": client.post("/unsubscribe", data={"scope": "all"})}
            if token is None
            else _requests(client, token)
        )
        for how, response in responses.items():
            assert response.status_code == 400, (name, how)
            assert "This link is not valid" in response.get_data(as_text=True), (name, how)
            assert response.headers["Referrer-Policy"] == "no-referrer"
            bodies.add(response.get_data())
    assert len(bodies) == 1, "the page must not hint which part of the link failed"
    assert journal_entries(app) == []
    assert emulator.events() == []


def test_the_invalid_page_names_no_detail(client: FlaskClient) -> None:
    body = client.get("/unsubscribe?t=" + REJECTED_TOKENS["expired"]()).get_data(as_text=True).lower()
    for hint in ("expired", "signature", "algorithm", "base64", "json", "hs256", "token"):
        assert hint not in body


def test_a_link_signed_with_the_previous_key_still_works_and_a_retired_key_does_not(
    make_app: Any, emulator: Any
) -> None:
    rotated = make_app(LINK_SIGNING_KEYS=f"{NEW_KEY},{OLD_KEY}").test_client()
    old_link = "/unsubscribe?t=" + mint(
        LinkClaims(Recipient(subscriber_key="demo-001", **NEWSLETTER)), OLD_KEY
    )
    assert rotated.get(old_link).status_code == 200
    retired = make_app(LINK_SIGNING_KEYS=NEW_KEY)
    assert retired.test_client().get(old_link).status_code == 400
    response = rotated.post(old_link, data={"scope": "list"})
    assert response.status_code == 200
    assert "You are unsubscribed" in response.get_data(as_text=True)
    assert [event["subscriber_key"] for event in emulator.events()] == ["demo-001"]


def test_the_language_of_the_invalid_page_follows_the_browser(client: FlaskClient) -> None:
    response = client.get("/unsubscribe?t=nope", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert response.status_code == 400
    assert "Ce lien n’est pas valide" in response.get_data(as_text=True)
    assert '<html lang="fr">' in response.get_data(as_text=True)
