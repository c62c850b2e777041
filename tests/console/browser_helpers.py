"""Shared helpers of the console's browser tests: serving the app on 127.0.0.1, axe-core, signing in
(with the second factor of the roles that see families)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import pytest
from console_helpers import PASSWORD

from ivr.console import two_factor

AXE = Path(__file__).parent.parent / "vendor" / "axe-core"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@contextmanager
def serving(app):
    """`app` served by werkzeug on 127.0.0.1 in a thread, for as long as the block runs: its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def axe_violations(page) -> list[dict]:
    """Serious and critical axe-core violations on the page as it is."""
    # Evaluated through the DevTools protocol, which the page's CSP (no inline script) does not block.
    page.evaluate((AXE / "axe.min.js").read_text() + "\n;0")
    results = page.evaluate("async () => await axe.run(document)")
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
            for v in results["violations"] if v["impact"] in ("serious", "critical")]


def keyboard_password(page, base: str, username: str, password: str = PASSWORD) -> None:
    """The sign-in page by keyboard: type the username, Tab, type the password, Enter (a role with a
    second factor is then on its page)."""
    page.goto(base + "/console/sign-in")
    # The username field has the focus (autofocus); Tab to the password, Enter submits.
    page.wait_for_function("document.activeElement && document.activeElement.id === 'username'")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def keyboard_sign_in(page, base: str, username: str, password: str = PASSWORD,
                     clock: Callable[[], float] = time.time) -> None:
    """Sign in with the keyboard alone: type the username, Tab, type the password, Enter; then the
    second factor, its code computed at `clock` (the served app's clock, when a test moves it)."""
    keyboard_password(page, base, username, password)
    if "/console/two-factor" in page.url:
        keyboard_second_factor(page, base, username, clock)


# (base URL, username) -> [secret, last step used]: what a browser test's accounts enrolled with.
ENROLLED: dict[tuple[str, str], list] = {}


def keyboard_second_factor(page, base: str, username: str, clock: Callable[[], float] = time.time) -> None:
    """On the second-factor page: enrol with the secret the page shows as text, or enter a code of the
    secret this account enrolled with earlier in the test; by keyboard, with the served app's clock."""
    secret_text = page.locator("#totp-secret")
    if secret_text.count():
        ENROLLED[(base, username)] = [secret_text.inner_text().replace(" ", ""), None]
        tab_to(page, "Code")
    elif (base, username) not in ENROLLED:
        pytest.fail(f"{username} enrolled outside this browser: its secret is unknown here")
    else:  # the code page: its field has the focus (autofocus)
        page.wait_for_function("document.activeElement && document.activeElement.id === 'code'")
    secret, last = ENROLLED[(base, username)]
    step = two_factor.current_step(clock())
    if last is not None and last >= step:
        step = last + 1
    if step > two_factor.current_step(clock()) + two_factor.DRIFT_STEPS:
        pytest.fail(f"{username} signed in three times within 30 seconds: no unused code is valid now")
    ENROLLED[(base, username)][1] = step
    page.keyboard.type(two_factor.code_at(secret, step))
    with page.expect_navigation():
        page.keyboard.press("Enter")


# The accessible name of the focused element, as a keyboard user's screen reader would say it.
NAME_OF_FOCUS = """() => {
  const el = document.activeElement;
  if (!el) return "";
  if (el.labels && el.labels.length) return el.labels[0].textContent.trim();
  return (el.getAttribute("aria-label") || el.textContent || "").trim();
}"""


def tab_to(page, name: str, limit: int = 80) -> None:
    """Press Tab until the element with the accessible name `name` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(NAME_OF_FOCUS) == name:
            return
    pytest.fail(f"{name!r} is not reachable by Tab")


def press(page, name: str) -> None:
    """Tab to the button `name` and press Enter on it; the page that comes back has loaded."""
    tab_to(page, name)
    with page.expect_navigation():
        page.keyboard.press("Enter")
