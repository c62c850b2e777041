"""The announcement window and the open-request count on both backends: one claim a window, however
many workers claim at once, and a claim given back when its announcement could not be sent."""

from __future__ import annotations

import threading

from cryptography.fernet import Fernet

from ivr.storage.announced import AnnouncementWindow
from ivr.storage.callbacks import Callbacks

NOW = 1_800_000_000.0


def test_one_claim_a_window(store):
    window = AnnouncementWindow.for_store(store, 600)
    assert window.claim(NOW)
    assert not window.claim(NOW + 599.9)
    assert window.claim(NOW + 600)
    assert not window.claim(NOW + 601)


def test_a_claim_given_back_lets_the_next_one_go_but_not_a_later_claim(store):
    window = AnnouncementWindow.for_store(store, 600)
    assert window.claim(NOW)
    window.release(NOW)
    assert window.claim(NOW + 1)
    window.release(NOW)  # not the claim in force: left alone
    assert not window.claim(NOW + 2)


def test_a_zero_window_lets_every_claim_go(store):
    window = AnnouncementWindow.for_store(store, 0)
    assert window.claim(NOW) and window.claim(NOW) and window.claim(NOW + 1)


def test_workers_claiming_at_once_get_one_claim_between_them(store):
    windows = [AnnouncementWindow.for_store(store, 600) for _ in range(6)]
    start = threading.Barrier(len(windows))
    results: list[bool] = []

    def claim(window: AnnouncementWindow) -> None:
        start.wait()
        results.append(window.claim(NOW))

    threads = [threading.Thread(target=claim, args=(w,)) for w in windows]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 5 + [True]


def test_the_count_is_of_open_requests_only(store):
    callbacks = Callbacks.for_store(store, [Fernet.generate_key().decode()])
    assert callbacks.count_open() == 0
    for number in ("+15025550143", "+15025550188", "+15025550177"):
        callbacks.request(number, True, "en-US", "closed", [], NOW)
    callbacks.request("+15025550143", True, "en-US", "busy", [], NOW + 1)  # the same, updated
    assert callbacks.count_open() == 3
    callbacks.take(2, "sam", NOW + 2)
    assert callbacks.count_open() == 3  # in progress is still open
    callbacks.close(3, "done", "sam", "", NOW + 3)
    assert callbacks.count_open() == 2
