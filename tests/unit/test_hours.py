"""Clinic hours: outside them "press 0" says when scheduling is open instead of ringing an empty line."""

from __future__ import annotations

from datetime import date, datetime, time, timezone

import pytest
from conftest import MENUS, SCHEDULING, SHIPPED_MENUS, Call, environment, without_texting

from ivr import create_app
from ivr.menufile.build import load_menus, parse_menus
from ivr.menufile.yaml_strict import MenuFileError
from ivr.model.hours import describe_opening, describe_week, parse_range, zone

HOURS = """
hours:
  time_zone: America/Kentucky/Louisville
  monday: "08:00-17:00"
  tuesday: "08:00-17:00"
  wednesday: "08:00-12:00, 13:00-17:00"
  thursday: "08:00-17:00"
  friday: "08:00-17:00"
  saturday: closed
  sunday: closed
  closed_on: [2026-12-25]
"""
WITH_HOURS = MENUS.read_text() + HOURS
LOUISVILLE = zone("America/Kentucky/Louisville")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture
def menu():
    return parse_menus(WITH_HOURS)


@pytest.mark.parametrize("moment,is_open", [
    (utc(2026, 11, 24, 14, 0), True),     # Tuesday 9:00 EST
    (utc(2026, 11, 24, 12, 59), False),   # Tuesday 7:59 EST
    (utc(2026, 11, 24, 22, 0), False),    # Tuesday 17:00 EST: closing time is closed
    (utc(2026, 11, 25, 17, 30), False),   # Wednesday 12:30 EST: lunch
    (utc(2026, 11, 25, 18, 0), True),     # Wednesday 13:00 EST
    (utc(2026, 11, 28, 15, 0), False),    # Saturday
    (utc(2026, 11, 29, 15, 0), False),    # Sunday
    (utc(2026, 12, 25, 15, 0), False),    # a Friday, but a closure date
    # Spring forward (Sunday 2026-03-08): Monday 8:30 EDT is 12:30 UTC; the Friday before, 12:30 UTC
    # was 7:30 EST.
    (utc(2026, 3, 9, 12, 30), True),
    (utc(2026, 3, 6, 12, 30), False),
    # Fall back (Sunday 2026-11-01): Friday 8:30 EDT is 12:30 UTC; Monday 12:30 UTC is 7:30 EST.
    (utc(2026, 10, 30, 12, 30), True),
    (utc(2026, 11, 2, 12, 30), False),
    (utc(2026, 11, 2, 13, 30), True),
])
def test_open_or_closed_in_the_clinics_time_zone(menu, moment, is_open):
    assert menu.hours.is_open(moment) is is_open


@pytest.mark.parametrize("moment,expected", [
    (utc(2026, 11, 24, 23, 0), "tomorrow at 8 AM"),         # Tuesday evening
    (utc(2026, 11, 25, 17, 30), "today at 1 PM"),           # Wednesday lunch
    (utc(2026, 11, 27, 23, 0), "on Monday at 8 AM"),        # Friday evening, over the weekend
    (utc(2026, 12, 24, 23, 0), "on Monday at 8 AM"),        # Christmas Eve: Friday 25th is closed
    (utc(2026, 3, 7, 15, 0), "on Monday at 8 AM"),          # across the spring change
])
def test_next_opening(menu, moment, expected):
    assert describe_opening(menu.hours.next_opening(moment), moment) == expected


def test_written_for_a_text_the_opening_names_the_weekday_never_today_or_tomorrow(menu):
    tuesday_evening, wednesday_lunch = utc(2026, 11, 24, 23, 0), utc(2026, 11, 25, 17, 30)
    assert describe_opening(menu.hours.next_opening(tuesday_evening), tuesday_evening,
                            relative=False) == "on Wednesday at 8 AM"
    assert describe_opening(menu.hours.next_opening(wednesday_lunch), wednesday_lunch, "es-US",
                            relative=False) == "el miércoles a la 1 p. m."


def test_next_opening_is_wall_clock_time_across_a_dst_change(menu):
    opening = menu.hours.next_opening(utc(2026, 3, 7, 15, 0))
    assert (opening.date(), opening.time()) == (date(2026, 3, 9), time(8, 0))
    assert opening.astimezone(timezone.utc).hour == 12  # 8 AM EDT, no longer 13:00 UTC


def test_the_week_in_words(menu):
    assert describe_week(menu.hours) == (
        "Monday to Tuesday, 8 AM to 5 PM; Wednesday, 8 AM to noon and 1 PM to 5 PM; "
        "Thursday to Friday, 8 AM to 5 PM")


def call_at(tmp_path, monkeypatch, moment) -> Call:
    path = tmp_path / "menus.yaml"
    path.write_text(WITH_HOURS)
    call = Call(create_app(environment(IVR_MENUS_FILE=str(path)), clock=lambda: moment).test_client())
    call.start()
    return call


def test_press_0_when_closed_says_when_scheduling_is_open_instead_of_ringing(tmp_path, monkeypatch):
    call = call_at(tmp_path, monkeypatch, utc(2026, 11, 28, 15, 0))  # Saturday
    call.press("0")
    assert call.dial is None
    assert "Our scheduling team is closed right now. They are open Monday to Tuesday, 8 AM" in call.heard
    assert "5, 0, 2. 6, 3, 5. 6, 3, 9, 7." in call.heard
    assert "Please hold" not in call.heard
    call.press("1")
    assert "closed right now" in call.heard
    call.press("*")
    assert "To hear about oral baclofen, press 1." in call.heard


def test_silence_when_closed_ends_in_goodbye_not_a_loop(tmp_path, monkeypatch):
    call = call_at(tmp_path, monkeypatch, utc(2026, 12, 25, 15, 0))  # a closure date
    call.press("0")
    for _ in range(2):
        call.wait()
        assert "closed right now" in call.heard
    call.wait()
    assert call.heard == "Thank you for calling the Spasticity Clinic. Goodbye."


def test_no_input_retries_when_closed_keep_the_apology(tmp_path, monkeypatch):
    call = call_at(tmp_path, monkeypatch, utc(2026, 11, 29, 15, 0))  # Sunday
    for _ in range(3):
        call.wait()
    assert call.heard.startswith("Sorry, I did not hear a choice. Our scheduling team is closed")


def test_press_0_during_the_hours_puts_the_caller_through(tmp_path, monkeypatch):
    call = call_at(tmp_path, monkeypatch, utc(2026, 11, 24, 15, 0))  # Tuesday 10:00
    call.press("0")
    assert call.dial.find("Number").text == SCHEDULING


def test_the_shipped_file_leaves_the_line_always_open():
    assert load_menus(SHIPPED_MENUS).hours is None


@pytest.mark.parametrize("old,new,message", [
    ('  monday: "08:00-17:00"', '  monday: "8 to 5"', "not opening hours"),
    ('  monday: "08:00-17:00"', '  monday: "17:00-08:00"', "not opening hours"),
    ("  time_zone: America/Kentucky/Louisville", "  time_zone: Kentucky", "not a time zone"),
    ("  sunday: closed\n", "", "hours is missing 'sunday'"),
    ("[2026-12-25]", "[2026-12-32]", "not a date"),
    ("  closed: >-", "  closedd: >-", "phrases must have 'closed'"),
])
def test_broken_hours_are_reported(old, new, message):
    with pytest.raises(MenuFileError, match=message):
        parse_menus(WITH_HOURS.replace(old, new, 1))


@pytest.mark.parametrize("text,expected", [
    ("08:00-17:00", (time(8), time(17))), ("8:30-12:00", (time(8, 30), time(12))),
    ("00:00-24:00", (time(0), time.max)), ("17:00-08:00", None), ("25:00-26:00", None), ("9-5", None),
])
def test_parse_range(text, expected):
    assert parse_range(text) == expected


def test_when_closed_key_2_texts_the_scheduling_number(tmp_path, monkeypatch):
    from conftest import ACCOUNT, CALLER, TOKEN
    from fake_twilio import FakeTwilio

    path = tmp_path / "menus.yaml"
    path.write_text(WITH_HOURS)
    saturday = utc(2026, 11, 28, 15, 0)
    with FakeTwilio(ACCOUNT, TOKEN) as twilio:
        env = environment(IVR_MENUS_FILE=str(path), TWILIO_API_BASE_URL=twilio.base_url,
                          IVR_DATABASE=str(tmp_path / "db.sqlite3"))
        call = Call(create_app(env, clock=lambda: saturday).test_client())
        call.start()
        call.press("0")
        assert "To get the number by text message, press 2." in call.heard
        call.press("2")
        [sent] = twilio.requests
    assert sent.form["To"] == CALLER
    assert sent.form["Body"] == "To make an appointment with the Spasticity Clinic, call (502) 635-6397."
    assert call.heard.startswith("I have sent it to the phone you are calling from. Our scheduling team "
                                 "is closed right now.")


@pytest.mark.parametrize("said,heard", [("main menu", "To hear about oral baclofen, press 1."),
                                        ("repeat", "closed right now"),
                                        ("pump", "medication pump")])
def test_speech_at_the_closed_message_is_understood(tmp_path, monkeypatch, said, heard):
    call = call_at(tmp_path, monkeypatch, utc(2026, 11, 28, 15, 0))  # Saturday
    call.press("0")
    call._post(call.gather.get("action"), SpeechResult=said, Confidence="0.9")
    assert heard in call.heard


def test_without_texting_the_closed_message_does_not_offer_it(tmp_path, monkeypatch):
    path = tmp_path / "menus.yaml"
    path.write_text(without_texting(WITH_HOURS))
    saturday = utc(2026, 11, 28, 15, 0)
    call = Call(create_app(environment(IVR_MENUS_FILE=str(path)), clock=lambda: saturday).test_client())
    call.start()
    call.press("0")
    assert "closed right now" in call.heard and "text message" not in call.heard


def test_the_closed_message_in_spanish_gives_the_hours_in_spanish(tmp_path, monkeypatch):
    call = call_at(tmp_path, monkeypatch, utc(2026, 11, 28, 15, 0))  # Saturday
    call.press("8")
    call.press("0")
    assert "lunes a martes, de 8 a. m. a 5 p. m.; miércoles, de 8 a. m. a mediodía y de 1 p. m. a 5 p. m." \
        in call.heard
    assert "lang=es-US" in call.gather.get("action")


def test_ivr_simulate_gives_the_closed_message_as_the_line_does(menu):
    from ivr.review import simulate

    lines: list[str] = []
    saturday = utc(2026, 11, 28, 15, 0)  # Saturday 10:00 in Louisville
    simulate.call(menu, ["0"], lines.append, clock=lambda: saturday)
    said = "\n".join(lines)
    assert "closed right now" in said and "SCHEDULING LINE" not in said
    lines.clear()
    simulate.call(menu, ["0", "busy"], lines.append, clock=lambda: utc(2026, 11, 24, 15, 0))  # Tuesday 10:00
    assert "SCHEDULING LINE: busy" in "\n".join(lines)
