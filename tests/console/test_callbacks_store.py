"""What the callback queue adds to the callback requests' storage, on both backends: a request without
its number, taking one only if no one else has (processes racing for it), the staff note, and a
close that only one of two can make."""

from __future__ import annotations

import pytest
from conftest import STORE_KEY, race
from cryptography.fernet import Fernet

from ivr.storage.callbacks import CallbackError, Callbacks, CallbackTakenError

KEY = Fernet.generate_key().decode()
NUMBER = "+15025550143"
NOW = 1_800_000_000.0


@pytest.fixture
def callbacks(store):
    return Callbacks.for_store(store, [KEY])


def test_a_summary_needs_no_key_and_holds_no_number(store, callbacks):
    request_id, _ = callbacks.request(NUMBER, True, "en-US", "closed", ["pump"], NOW)
    keyless = Callbacks.for_store(store)  # no IVR_CALLBACK_KEYS: nothing can be decrypted
    found = keyless.summary(request_id)
    assert (found.id, found.number, found.reason, found.topics, found.status) == \
        (request_id, None, "closed", ("pump",), "new")
    assert keyless.summary(request_id + 1) is None


def test_claiming_only_what_no_one_else_has(callbacks):
    request_id, _ = callbacks.request(NUMBER, True, "en-US", "busy", [], NOW)
    callbacks.claim(request_id, "ana", NOW + 1)
    callbacks.claim(request_id, "ana", NOW + 2)  # hers already: no change, no error
    with pytest.raises(CallbackTakenError) as refused:
        callbacks.claim(request_id, "ben", NOW + 3)
    assert refused.value.taken_by == "ana"
    with pytest.raises(CallbackTakenError):  # taking over someone who no longer has it
        callbacks.claim(request_id, "ben", NOW + 3, over="carl")
    callbacks.claim(request_id, "ben", NOW + 4, over="ana")
    taken = callbacks.summary(request_id)
    assert (taken.status, taken.taken_by, taken.updated) == ("in_progress", "ben", NOW + 4)
    callbacks.close(request_id, "done", "ben", "", NOW + 5)
    with pytest.raises(CallbackError, match="already closed"):
        callbacks.claim(request_id, "ben", NOW + 6)
    with pytest.raises(CallbackError, match="there is no callback request 99"):
        callbacks.claim(99, "ben", NOW)


def test_the_note_and_a_second_close(callbacks):
    request_id, _ = callbacks.request(NUMBER, False, "es-US", "text", [], NOW)
    callbacks.set_note(request_id, "Llamar después de las 3", NOW + 1)
    assert callbacks.summary(request_id).note == "Llamar después de las 3"
    callbacks.close(request_id, "unreachable", "ana", "no answer", NOW + 2)
    with pytest.raises(CallbackError, match="already closed"):
        callbacks.close(request_id, "done", "ben", "reached", NOW + 3)
    closed = callbacks.summary(request_id)
    assert (closed.status, closed.note, closed.taken_by, closed.closed_at) == \
        ("unreachable", "no answer", "ana", NOW + 2)
    callbacks.set_note(request_id, "tried twice", NOW + 4)  # a note after the close
    assert callbacks.summary(request_id).note == "tried twice"
    with pytest.raises(CallbackError, match="there is no callback request 99"):
        callbacks.set_note(99, "x", NOW)


def _claim_in_process(url, name, start, results):
    # Each process opens the database itself, as a worker of the line does, all at one moment.
    from ivr.storage import open_store

    start.wait(timeout=30)
    store = open_store(url, STORE_KEY)
    try:
        Callbacks.for_store(store, [KEY]).claim(1, name, NOW + 1)
        results.put(f"taken by {name}")
    except CallbackTakenError as error:
        results.put(f"refused: {'someone else' if error.taken_by != name else 'self'}")
    finally:
        store.close()


def test_staff_racing_to_take_one_request_one_wins(store, callbacks, database_url):
    assert callbacks.request(NUMBER, True, "en-US", "closed", [], NOW) == (1, True)
    outcomes = race(_claim_in_process, lambda index: (database_url, f"staff{index}"), 4)
    assert outcomes[:3] == ["refused: someone else"] * 3
    winner = outcomes[3].removeprefix("taken by ")
    assert callbacks.summary(1).taken_by == winner
