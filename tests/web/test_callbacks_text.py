"""Asking for a callback by text, through the signed SMS webhook: the keywords (built in, and the
ones menus.yaml adds), the sender's number kept as verified, the HELP line, both languages, the caps,
the database down, and a line that takes no callback requests."""

from __future__ import annotations

import pytest
from conftest import CALLER, MENUS, Texter, close_app, environment
from cryptography.fernet import Fernet

from ivr import create_app
from ivr.storage.callbacks import Callbacks

KEY = Fernet.generate_key().decode()
# The clinic's name first (the family may not know the number), the emergency line last.
REPLY = ("Spasticity Clinic: Thank you. We have your request to be called back. Our scheduling team will "
         "call you back as soon as they can. The call will come from the Spasticity Clinic.\n"
         "Emergency? Call 911.")
SPANISH = ("Clínica de Espasticidad: Gracias. Recibimos su solicitud de llamada. Nuestro equipo de citas le "
           "devolverá la llamada lo antes posible. Le llamarán de la Clínica de Espasticidad.\n"
           "¿Emergencia? Llame al 911.")


@pytest.fixture
def line():
    apps = []

    def make(**env: str):
        made = create_app(environment(IVR_CALLBACK_KEYS=KEY, **env))
        apps.append(made)
        return made

    yield make
    for made in apps:
        close_app(made)


def requests_of(app) -> list:
    callbacks = Callbacks.for_store(app.extensions["ivr"].store, (KEY,))
    return [callbacks.get(r.id) for r in callbacks.newest()]


@pytest.mark.parametrize("body", ["CALL ME", "callback", "Call back", "call me back", "Call me back!"])
def test_the_keywords_ask_for_a_callback_at_the_sender_s_number(line, body):
    app = line()
    assert Texter(app.test_client()).send(body) == REPLY
    (request,) = requests_of(app)
    assert (request.number, request.number_verified, request.reason, request.language, request.topics) == \
        (CALLER, True, "text", "en-US", ())


def test_llamenme_answers_in_spanish(line):
    app = line()
    assert Texter(app.test_client()).send("LLÁMENME") == SPANISH
    assert requests_of(app)[0].language == "es-US"


def test_in_a_spanish_conversation_call_me_is_answered_in_spanish(line):
    app = line()
    texter = Texter(app.test_client())
    texter.send("ESPAÑOL")
    assert texter.send("call me") == SPANISH


def test_the_help_reply_says_how_to_ask_for_a_callback_in_each_language(line):
    texter = Texter(line().test_client())
    assert texter.send("HELP").endswith("Reply STOP to opt out.\nReply CALL ME to ask us to call you back.")
    assert texter.send("AYUDA").endswith("Responda LLÁMENME para que le devolvamos la llamada.")


def test_words_staff_add_in_menus_yaml_ask_for_one_too(line, tmp_path):
    path = tmp_path / "menus.yaml"
    path.write_text(MENUS.read_text().replace(
        "  emergency_phrases: [drowning, poisoned, poisoning]\n",
        "  emergency_phrases: [drowning, poisoned, poisoning]\n  callback_words: [ring me, phone me]\n", 1)
        .replace("      emergency_phrases: [ahogado, envenenado, envenenada, envenenamiento]\n",
                 "      emergency_phrases: [ahogado, envenenado, envenenada, envenenamiento]\n"
                 "      callback_words: [devuélvanme la llamada]\n", 1))
    app = line(IVR_MENUS_FILE=str(path))
    assert Texter(app.test_client()).send("Phone me") == REPLY
    assert Texter(app.test_client(), number="+15025550111").send("Devuelvanme la llamada") == SPANISH


def test_a_second_text_updates_the_open_request(line):
    app = line()
    texter = Texter(app.test_client())
    texter.send("CALL ME")
    texter.send("CALLBACK")
    assert len(requests_of(app)) == 1


def test_over_the_daily_cap_the_reply_gives_the_scheduling_number(line):
    app = line(IVR_CALLBACKS_PER_DAY="1")
    client = app.test_client()
    Texter(client).send("CALL ME")
    assert Texter(client, number="+15025550111").send("CALL ME") == (
        "Sorry, we cannot take more callback requests right now. Please call again later, or call our "
        "scheduling team at (502) 635-6397")
    assert len(requests_of(app)) == 1


def test_over_the_cap_a_family_that_asked_already_is_still_answered(line):
    app = line(IVR_CALLBACKS_PER_DAY="1")
    texter = Texter(app.test_client())
    first = texter.send("CALL ME")
    assert texter.send("CALL ME BACK") == first
    (request,) = requests_of(app)
    assert request.reason == "text"


def test_with_the_database_down_the_reply_is_an_apology_with_the_number(line):
    app = line()
    app.extensions["ivr"].store._run("write", lambda c: c.exec_driver_sql("DROP TABLE callbacks"),
                                     immediate=True)
    assert Texter(app.test_client()).send("CALL ME") == (
        "Sorry, I could not take your request. Please call again later, or call our scheduling team at "
        "(502) 635-6397")


def test_a_sender_the_line_cannot_call_back_is_given_the_number(line):
    app = line()
    assert Texter(app.test_client(), number="+18765550123").send("CALL ME").startswith(
        "Sorry, I could not take your request.")
    assert requests_of(app) == []


def test_without_callback_keys_call_me_is_an_ordinary_text(client):
    texter = Texter(client)
    assert texter.send("CALL ME").startswith("Sorry, I did not understand that.")
    assert "CALL ME" not in texter.send("HELP")
