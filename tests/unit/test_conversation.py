"""The conversation service on its own: a clock, texting, an event sink and an opt-out list are handed
in, so every decision (hours, language, texting, events) is tested without Flask or Twilio."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
from conftest import MENUS, SCHEDULING
from test_hours import WITH_HOURS

from ivr.conversation import engine
from ivr.conversation.fakes import PretendTexting
from ivr.conversation.ports import StorageUnavailable
from ivr.conversation.service import Call, Conversation, Text
from ivr.menufile.build import parse_menus
from ivr.review import simulate

SATURDAY = datetime(2026, 11, 28, 15, 0, tzinfo=timezone.utc)  # 10:00 in Louisville: closed
TUESDAY = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)  # 10:00 in Louisville: open


class Events:
    """An event sink that keeps every event, in order."""

    def __init__(self):
        self.kept: list[tuple] = []

    def record(self, sid, kind, node=None, language=None, outcome=None, value=None):
        self.kept.append((sid, kind, node, language, outcome, value))


class OptOuts:
    """An opt-out list in memory, or one whose database is down."""

    def __init__(self, down: bool = False):
        self.numbers: set[str] = set()
        self.down = down

    def opt_out(self, number):
        if self.down:
            raise StorageUnavailable("down")
        self.numbers.add(number)

    def opt_in(self, number):
        self.numbers.discard(number)


@pytest.fixture(scope="module")
def line():
    return parse_menus(MENUS.read_text())


@pytest.fixture(scope="module")
def with_hours():
    return parse_menus(WITH_HOURS)


def test_a_call_is_stepped_with_the_clock_it_is_given(with_hours):
    events = Events()
    for moment, hours in ((TUESDAY, "open"), (SATURDAY, "closed")):
        conversation = Conversation(PretendTexting(), events, clock=lambda moment=moment: moment)
        call = Call(sid="CA1")
        step = conversation.start(with_hours, call)
        assert events.kept[-2] == ("CA1", "call_started", "main", "en-US", hours, None)
        step = conversation.key(with_hours, call.after(step), "main", "0")
        if hours == "open":
            assert step.turn.dial == SCHEDULING and step.turn.gather is None
        else:
            assert step.turn.dial is None and step.turn.gather.node == engine.CLOSED
            assert events.kept[-1] == ("CA1", "closed_message", "scheduling", "en-US", None, None)


def test_simulate_and_the_service_agree_while_closed(with_hours):
    # The issue's own case: every day closed, `ivr simulate --keys 0` says the closed message.
    out = io.StringIO()
    simulate.call(with_hours, ["0", "q"], lambda line: print(line, file=out), clock=lambda: SATURDAY)
    transcript = out.getvalue()
    closed = Conversation(PretendTexting(), clock=lambda: SATURDAY).key(with_hours, Call(), "main", "0")
    assert " ".join(closed.turn.prompt) in transcript
    assert "[the line dials" not in transcript


@pytest.mark.parametrize("outcome", engine.TEXT_OUTCOMES)
def test_text_me_this_says_what_the_texting_reports(line, outcome):
    events, texting = Events(), PretendTexting(outcome)
    conversation = Conversation(texting, events)
    step = conversation.key(line, Call(sid="CA2"), "casting", engine.TEXT_ME_KEY)
    assert texting.asked == ["casting"]
    said = engine.spoken(line, line.phrases[f"text_{outcome}"], keyword=engine.texting_word(line, "casting"))
    assert step.turn.prompt[0] == said
    assert step.turn.gather.node == "casting"
    assert ("CA2", "text_me", "casting", "en-US", outcome, None) in events.kept


def test_the_general_information_sentence_once_a_call(line):
    conversation = Conversation(PretendTexting())
    sentence = engine.spoken(line, line.phrases["general_info"])
    first = conversation.key(line, Call(), "other_treatments", "2")
    assert sentence in first.turn.prompt and first.informed
    again = conversation.key(line, Call().after(first), "casting", "9")
    assert sentence not in again.turn.prompt and again.informed


def test_the_language_chosen_is_carried_to_the_next_step(line):
    conversation = Conversation(PretendTexting())
    step = conversation.key(line, Call(), "main", "8")
    assert step.menu.language == "es-US"
    after = Call().after(step)
    assert after.language == "es-US" and after.tries == 0
    assert conversation.key(line, after, "main", "9").menu.language == "es-US"


def test_turns_are_kept_with_their_menu_and_what_callers_say_never_is(line):
    menu = parse_menus(MENUS.read_text())  # a fresh load: its own, empty memo
    conversation = Conversation(PretendTexting())
    assert menu.memo == {}
    conversation.key(menu, Call(), "main", "2")
    conversation.speech(menu, Call(), "main", "tell me about the pump for my son", 0.93)
    conversation.text(menu, Text("my daughter Ana needs casting"))
    kept = repr(list(menu.memo))
    assert "press" in kept
    for words in ("son", "Ana", "0.93", "daughter"):
        assert words not in kept
    assert parse_menus(MENUS.read_text()).memo == {}  # a reload starts with nothing from the last


def test_a_text_keeps_the_opt_out_list_and_records_no_words(line):
    events, opt_outs = Events(), OptOuts()
    conversation = Conversation(PretendTexting(), events, opt_outs)
    step = conversation.text(line, Text("STOP", sid="SM1", sender="+15025550123"))
    assert step.reply.text is None
    assert opt_outs.numbers == {"+15025550123"}
    step = conversation.text(line, Text("casting please", sid="SM2", sender="+15025550123"))
    assert step.reply.text.startswith(engine.written(line, line.nodes["casting"].text))
    assert events.kept == [("SM1", "text_received", None, None, "opt_out", None),
                           ("SM2", "text_received", "casting", "en-US", "summary",
                            step.reply.encoding.segments)]
    assert "please" not in repr(events.kept) and "+1502" not in repr(events.kept)


def test_a_database_that_is_down_costs_the_opt_out_never_the_reply(line, caplog):
    conversation = Conversation(PretendTexting(), Events(), OptOuts(down=True))
    step = conversation.text(line, Text("PARAR", sid="SM3", sender="+15025550123"))
    assert step.reply.text is None  # Spanish STOP: no reply, and no error
    assert "could not record an opt-out" in caplog.text
    assert conversation.text(line, Text("menu", sid="SM4")).reply.text


def test_twilio_answered_opt_outs_get_no_second_reply(line):
    events = Events()
    step = Conversation(PretendTexting(), events).text(line, Text("HELP", sid="SM5", opt_out_type="HELP",
                                                                  last_menu="other_treatments"))
    assert step.reply.text is None and step.last_menu == "other_treatments"
    assert events.kept == [("SM5", "text_received", None, None, "help", None)]
