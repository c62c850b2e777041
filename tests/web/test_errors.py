"""Whatever goes wrong, callers and texters get a helpful answer, never Twilio's application error."""

from __future__ import annotations

import pytest
from conftest import CALLER, SCHEDULING, Call, Texter, said, signed_post, twiml

from ivr.conversation import engine


def explode(*args, **kwargs):
    raise RuntimeError("something inside the line broke")


@pytest.mark.parametrize("target", ["start_call", "press", "silence", "dial_ended"])
def test_an_internal_error_on_a_voice_route_apologises_and_transfers(client, monkeypatch, target):
    call = Call(client)
    call.start()
    call.press("0")
    monkeypatch.setattr(engine, target, explode)
    path = {"start_call": "/voice", "press": "/voice/main?tries=0",
            "silence": "/voice/main/silence?tries=0", "dial_ended": "/voice/dial-ended"}[target]
    doc = call._post(path, Digits="1", DialCallStatus="busy")
    says = doc.findall("Say")
    if target == "start_call":  # no language chosen yet: the Spanish 911 notice comes too, in its voice
        assert says[0].get("language") == "es-US" and "9 1 1" in said(says[0])
        says = says[1:]
    assert said(says[0]) == "Sorry, something went wrong on our end."
    assert "9 1 1" in said(says[1])
    assert doc.find("Dial/Number").text == SCHEDULING
    assert doc.find("Dial").get("callerId") == CALLER


def test_when_even_the_apology_fails_the_caller_is_still_put_through(client, monkeypatch):
    monkeypatch.setattr(engine, "start_call", explode)
    monkeypatch.setattr(engine, "failed", explode)
    doc = Call(client).start()
    assert "Sorry" in said(doc.find("Say"))
    assert doc.find("Dial/Number").text == SCHEDULING


def test_an_internal_error_on_sms_replies_with_the_number(client, monkeypatch):
    monkeypatch.setattr(engine, "text_in", explode)
    reply = Texter(client).send("pump")
    assert reply == "Sorry, something went wrong. To make an appointment, call (502) 635-6397.\n" \
                    "Emergency? Call 911."


def test_an_oversized_body_is_refused_with_a_4xx(client):
    response = signed_post(client, "/sms", {"Body": "x" * 70_000, "MessageSid": "SM1"})
    assert response.status_code == 413


@pytest.mark.parametrize("path", ["/voice", "/sms", "/voice/main"])
def test_a_get_is_refused_with_405(client, path):
    assert client.get(path).status_code == 405


def test_an_unknown_address_is_404(client):
    assert client.post("/nowhere").status_code == 404


def test_accented_text_with_a_keyword_still_matches(client):
    params = {"MessageSid": "SM" + "4" * 32, "From": CALLER, "Body": "¿La BOMBA? pump, por favor"}
    reply = twiml(signed_post(client, "/sms", params)).find("Message").text
    # Mostly Spanish words ("la", "por favor"): the pump summary, in Spanish.
    assert reply.startswith("Bomba de baclofeno intratecal:")
