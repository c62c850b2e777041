"""`ivr callbacks purge` and `ivr callbacks rekey` through cli.main(): recordings deleted at a fake
Twilio through the real twilio client, a failure keeps its request for the next run."""

from __future__ import annotations

import time

import pytest
from conftest import ACCOUNT, TOKEN, environment
from cryptography.fernet import Fernet
from fake_twilio import FakeTwilio, recording_sid

from ivr import cli
from ivr.settings import read_settings
from ivr.storage import open_store
from ivr.storage.callbacks import Callbacks

DAY = 86400.0
KEY = Fernet.generate_key().decode()


@pytest.fixture
def fake():
    with FakeTwilio(ACCOUNT, TOKEN) as fake:
        yield fake


@pytest.fixture
def env(monkeypatch, fake):
    for name, value in environment(IVR_CALLBACK_KEYS=KEY, TWILIO_API_BASE_URL=fake.base_url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return read_settings(environment(IVR_CALLBACK_KEYS=KEY, TWILIO_API_BASE_URL=fake.base_url))


def requests_of(settings, keys=(KEY,)):
    store = open_store(settings.database_url, settings.number_hash_key)
    return store, Callbacks.for_store(store, keys)


def make(callbacks, number: str, age_days: float, closed_days_ago: float | None = None,
         recording: str | None = None) -> int:
    now = time.time()
    request_id, _ = callbacks.request(number, False, "en-US", "closed", ["pump"], now - age_days * DAY)
    if recording:
        callbacks.set_recording(request_id, recording)
    if closed_days_ago is not None:
        callbacks.close(request_id, "done", "ana", "", now - closed_days_ago * DAY)
    return request_id


def test_purge_deletes_due_recordings_at_twilio_then_the_rows(env, fake, capsys):
    store, callbacks = requests_of(env)
    old, closed, other = recording_sid(), recording_sid(), recording_sid()
    too_old = make(callbacks, "+15025550101", 91, recording=old)
    closed_long_ago = make(callbacks, "+15025550102", 40, closed_days_ago=31, recording=closed)
    older = make(callbacks, "+15025550103", 95, recording=other)
    no_recording = make(callbacks, "+15025550104", 92)
    kept = make(callbacks, "+15025550105", 40, closed_days_ago=29, recording=recording_sid())
    fresh = make(callbacks, "+15025550106", 1, recording=recording_sid())
    fake.refuse(20404, 404)  # the first DELETE: Twilio no longer has it, which counts as deleted
    fake.requests.clear()
    status = cli.main(["callbacks", "purge"])
    out, err = capsys.readouterr()
    assert status == 0, err
    deleted = [r.path for r in fake.requests if r.method == "DELETE"]
    assert deleted == [f"/2010-04-01/Accounts/{ACCOUNT}/Recordings/{sid}.json"
                       for sid in (old, closed, other)]
    assert all(r.auth == (ACCOUNT, TOKEN) for r in fake.requests)
    assert out.startswith(f"deleted 4 callback request(s) and 3 recording(s) at Twilio: {too_old}, "
                          f"{closed_long_ago}, {older}, {no_recording} ")
    assert "+1502" not in out + err and "5025550" not in out + err
    assert sorted(r.id for r in callbacks.newest()) == [kept, fresh]
    store.close()


def test_a_twilio_failure_keeps_the_request_for_the_next_run(env, fake, capsys):
    store, callbacks = requests_of(env)
    first, second = recording_sid(), recording_sid()
    failing = make(callbacks, "+15025550101", 91, recording=first)
    other = make(callbacks, "+15025550102", 91, recording=second)
    fake.fail_with_status(500, "oops")
    assert cli.main(["callbacks", "purge"]) == 1
    out, err = capsys.readouterr()
    assert out.startswith(f"deleted 1 callback request(s) and 1 recording(s) at Twilio: {other} ")
    assert f"kept 1 request(s) whose recording Twilio did not delete, for the next run: {failing}" in err
    assert [r.id for r in callbacks.newest()] == [failing]
    # The next run deletes it.
    assert cli.main(["callbacks", "purge"]) == 0
    assert callbacks.newest() == []
    assert [r.path.rsplit("/", 1)[1] for r in fake.requests if r.method == "DELETE"] == \
        [f"{first}.json", f"{second}.json", f"{first}.json"]
    store.close()


def test_rekey_then_only_the_new_key_is_needed(env, monkeypatch, capsys):
    store, callbacks = requests_of(env)
    make(callbacks, "+15025550101", 1)
    make(callbacks, "+15025550102", 1)
    new = Fernet.generate_key().decode()
    monkeypatch.setenv("IVR_CALLBACK_KEYS", f"{new}, {KEY}")
    assert cli.main(["callbacks", "rekey"]) == 0
    assert capsys.readouterr().out.startswith("re-encrypted the numbers of 2 callback request(s)")
    only_new = Callbacks.for_store(store, [new])
    assert [only_new.get(i).number for i in (1, 2)] == ["+15025550101", "+15025550102"]
    store.close()


def test_a_malformed_key_is_refused_with_the_command_that_makes_one(env, monkeypatch, capsys):
    monkeypatch.setenv("IVR_CALLBACK_KEYS", f"{KEY},not-a-key")
    assert cli.main(["callbacks", "rekey"]) == 1
    err = capsys.readouterr().err
    assert "IVR_CALLBACK_KEYS: key 2 of 2 is not a Fernet key" in err
    assert "Fernet.generate_key()" in err and "not-a-key" not in err


def test_the_settings_at_start():
    from ivr.settings import StartupError

    plain = read_settings(environment())
    assert (plain.callback_keys, plain.callbacks_closed_days, plain.callbacks_max_days) == ((), 30, 90)
    two = read_settings(environment(IVR_CALLBACK_KEYS=f" {KEY} ,{KEY}", IVR_CALLBACKS_CLOSED_DAYS="7"))
    assert (two.callback_keys, two.callbacks_closed_days) == ((KEY, KEY), 7)
    with pytest.raises(StartupError, match="key 1 of 1 is not a Fernet key"):
        read_settings(environment(IVR_CALLBACK_KEYS="x" * 44))
    with pytest.raises(StartupError, match="IVR_CALLBACKS_MAX_DAYS must be a whole number"):
        read_settings(environment(IVR_CALLBACKS_MAX_DAYS="0"))
