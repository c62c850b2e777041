"""The callback flow without Flask or Twilio: the engine's steps, the conversation service with a
pretend desk (full, or its store down), when scheduling next opens in both languages, and
`ivr simulate` stepping the flow."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest
from conftest import MENUS, SHIPPED_MENUS
from test_hours import WITH_HOURS

from ivr.conversation import callback_flow, engine
from ivr.conversation.fakes import PretendDesk, PretendTexting
from ivr.conversation.ports import StorageUnavailable
from ivr.conversation.service import Call, Conversation
from ivr.menufile.build import parse_menus
from ivr.model.hours import describe_opening, zone
from ivr.review import simulate

SATURDAY = datetime(2026, 1, 10, 15, 0, tzinfo=timezone.utc)
CALLER = "+15025550123"


LOUISVILLE = zone("America/Kentucky/Louisville")


@pytest.fixture
def menu():
    return parse_menus(MENUS.read_text())


@pytest.fixture
def with_hours():
    return parse_menus(WITH_HOURS)


class BrokenDesk(PretendDesk):
    """A desk whose store is down."""

    def has_room(self, now: float) -> bool:
        raise StorageUnavailable("down")


def test_ten_keyed_digits_of_a_us_or_canadian_number_and_nothing_else():
    assert callback_flow.keyed_number("5025550199") == "+15025550199"
    assert callback_flow.keyed_number("4165550123") == "+14165550123"  # Toronto
    for bad in ("502555019", "50255501990", "8765550123", "8005550123", "502555019#", "",
                "５０２５５５０１９９"):
        assert callback_flow.keyed_number(bad) is None, bad


def test_the_own_number_only_when_attested_a_and_callable():
    assert callback_flow.own_number(CALLER, "A") == CALLER
    assert callback_flow.own_number(CALLER, "B") is None
    assert callback_flow.own_number("+18765550123", "A") is None
    assert callback_flow.own_number("anonymous", "A") is None


def test_key_3_is_offered_only_when_the_line_takes_requests(menu):
    off = engine.dial_ended(menu, "busy")
    on = engine.dial_ended(menu, "busy", callbacks=True)
    assert not any("call you back" in line for line in off.prompt)
    assert "To ask us to call you back, press 3." in on.prompt
    assert on.gather.why == "busy" and off.gather.why == ""
    assert engine.press(menu, engine.UNAVAILABLE, "3", 0, "busy", callbacks=True).start_callback == "busy"
    assert engine.press(menu, engine.UNAVAILABLE, "3", 0, "busy").start_callback is None


def test_a_menu_missing_a_callback_phrase_offers_none(menu):
    phrases = dict(menu.phrases)
    del phrases["callback_from"]
    partial = replace(menu, phrases=phrases)
    assert not engine.offers_callbacks(partial)
    turn = engine.dial_ended(partial, "busy", callbacks=True)
    assert "To ask us to call you back, press 3." not in turn.prompt


def test_the_service_steps_a_whole_request_with_a_pretend_desk(with_hours):
    desk, texting = PretendDesk(), PretendTexting()
    conversation = Conversation(texting, clock=lambda: SATURDAY, callbacks=desk)
    call = Call(sid="CA1", attestation="A", caller=CALLER, clinic="+15025550100", topics=("casting",))
    step = conversation.key(with_hours, call, "main", "0")
    assert "To ask us to call you back, press 3." in step.turn.prompt
    step = conversation.key(with_hours, call.after(step), engine.CLOSED, "3")
    assert step.turn.gather.node == callback_flow.OWN_NUMBER
    step = conversation.key(with_hours, call.after(step), callback_flow.OWN_NUMBER, "1")
    assert step.turn.record is not None and step.turn.record.texted
    assert desk.requests == [(CALLER, True, "en-US", "closed", ("casting",))]
    assert texting.asked == ["_callback"]
    done = conversation.callback_done(with_hours, call, True)
    assert ("Our scheduling team opens again on Monday at 8 AM. They will call you back as soon as they "
            "can.") in done.turn.say
    assert done.turn.hangup


def test_a_full_desk_or_a_store_that_is_down_gives_the_number_and_goodbye(menu):
    for desk, phrase in ((PretendDesk(room=False), "Sorry, we cannot take more"),
                         (BrokenDesk(), "Sorry, I could not take your request.")):
        conversation = Conversation(PretendTexting(), callbacks=desk)
        call = Call(attestation="A", caller=CALLER)
        step = conversation.transfer_ended(menu, call, "no-answer")
        step = conversation.key(menu, call.after(step), engine.UNAVAILABLE, "3")
        assert step.turn.say[0].startswith(phrase) and step.turn.hangup
        assert "5, 0, 2. 6, 3, 5. 6, 3, 9, 7." in step.turn.say[0]


def test_a_keyed_number_is_never_kept_with_the_menu(menu):
    conversation = Conversation(PretendTexting(), callbacks=PretendDesk())
    call = Call(reason="busy", attestation="A", caller=CALLER)
    step = conversation.key(menu, call, engine.UNAVAILABLE, "3")
    assert "0, 1, 2, 3" in step.turn.prompt[0]  # the caller's own number's last digits
    step = conversation.key(menu, call.after(step), callback_flow.OWN_NUMBER, "2")
    step = conversation.key(menu, call.after(step), callback_flow.ENTER_NUMBER, "5025550199")
    assert step.turn.gather.number == "+15025550199"
    step = conversation.key(menu, call.after(step), callback_flow.CONFIRM_NUMBER, "1")
    kept = repr(menu.memo)
    assert "5025550199" not in kept and "5, 5, 5. 0, 1, 9, 9" not in kept and "0, 1, 2, 3" not in kept


def test_callbacks_turned_off_during_a_call_start_the_menu_again(menu):
    step = Conversation(PretendTexting()).key(menu, Call(), callback_flow.ENTER_NUMBER, "5025550199")
    assert step.turn.gather.node == menu.start


@pytest.mark.parametrize("moment,opening,english,spanish", [
    (datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc), datetime(2026, 1, 5, 13, 0, tzinfo=LOUISVILLE),
     "today at 1 PM", "hoy a la 1 p. m."),
    (datetime(2026, 1, 5, 23, 0, tzinfo=timezone.utc), datetime(2026, 1, 6, 8, 0, tzinfo=LOUISVILLE),
     "tomorrow at 8 AM", "mañana a las 8 a. m."),
    (SATURDAY, datetime(2026, 1, 12, 8, 0, tzinfo=LOUISVILLE), "on Monday at 8 AM", "el lunes a las 8 a. m."),
])
def test_when_scheduling_opens_in_both_languages(moment, opening, english, spanish):
    assert describe_opening(opening, moment) == english
    assert describe_opening(opening, moment, "es-US") == spanish


def test_a_later_date_is_said_with_its_month_in_spanish():
    opening = datetime(2026, 1, 20, 8, 0, tzinfo=LOUISVILLE)
    assert describe_opening(opening, SATURDAY, "es-US") == "el martes 20 de enero a las 8 a. m."
    assert describe_opening(opening, SATURDAY) == "on Tuesday, January 20 at 8 AM"


def test_simulate_steps_the_callback_flow_with_a_pretend_desk(menu):
    lines: list[str] = []
    simulate.call(menu, ["0", "busy", "3", "5025550199", "1", "hello", "q"], lines.append, callbacks=True)
    transcript = "\n".join(lines)
    assert "[a pretend callback request: (502) 555-0199, keyed, not verified, en-US, busy" in transcript
    assert "[a tone; the line records a message of at most 60 seconds; # ends it]" in transcript
    assert transcript.endswith("[the line hangs up]")
    lines.clear()
    simulate.call(menu, ["0", "busy", "3"], lines.append)
    assert "pretend callback" not in "\n".join(lines)


def test_simulated_texts_ask_for_a_callback_only_with_callbacks(menu):
    lines: list[str] = []
    simulate.texts(menu, ["LLÁMENME"], lines.append, callbacks=True)
    assert any(line.strip().startswith("Clínica de Espasticidad: Gracias. Recibimos su solicitud")
               for line in lines)


def test_the_clinicians_script_shows_the_callback_flow_in_each_language(menu):
    from ivr.review.script import script_sections

    (section,) = [s for s in script_sections(menu) if s.key == "_callbacks"]
    lines = [line for entry in section.entries for line in entry.lines]
    assert "To ask us to call you back, press 3." in lines and MESSAGE_EN in lines
    spanish = engine.translation(menu, "es-US")
    (section,) = [s for s in script_sections(spanish) if s.key == "_callbacks"]
    assert any(line.startswith("Después del tono") for entry in section.entries for line in entry.lines)
    phrases = dict(menu.phrases)
    del phrases["callback_key"]
    assert not [s for s in script_sections(replace(menu, phrases=phrases)) if s.key == "_callbacks"]


MESSAGE_EN = ("After the tone, please say your child's name and the best time to call. "
              "Press pound when you are done.")


def test_ivr_check_counts_the_callback_texts_against_the_budget(with_hours):
    from ivr.review.lint import lint

    replies = dict(engine.sms_replies_for_review(with_hours))
    assert replies["phrases.sms_help_callback"].endswith("Reply CALL ME to ask us to call you back.")
    assert "September 28" in replies["phrases.callback_thanks"]  # the longest date there is
    phrases = dict(with_hours.phrases)
    phrases["callback_from"] = "The call will come from the clinic. " * 10
    long = replace(with_hours, phrases=phrases)
    assert any("callback_thanks" in problem.message for problem in lint(long))


def test_the_shipped_menus_add_their_own_callback_words_in_each_language():
    shipped = parse_menus(SHIPPED_MENUS.read_text())
    assert callback_flow.asked_by_text(shipped, "Llámeme por favor") == "es-US"
    assert callback_flow.asked_by_text(shipped, "devuélvanme la llamada") == "es-US"
    assert callback_flow.asked_by_text(shipped, "callme") == "en-US"
    assert callback_flow.asked_by_text(shipped, "call me maybe later") is None


def test_hours_ending_in_p_m_before_a_full_stop_make_one_stop_not_two(with_hours):
    spanish = engine.translation(with_hours, "es-US")
    said = " ".join(engine.closed(spanish, callbacks=True).prompt)
    assert "p. m." in said and "m.." not in said
    assert "..." not in said
