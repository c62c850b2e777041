"""Shared helpers of the console's browser tests: serving the app on 127.0.0.1, axe-core, signing in."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from console_helpers import PASSWORD

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


def keyboard_sign_in(page, base: str, username: str, password: str = PASSWORD) -> None:
    """Sign in with the keyboard alone: type the username, Tab, type the password, Enter."""
    page.goto(base + "/console/sign-in")
    # The username field has the focus (autofocus); Tab to the password, Enter submits.
    page.wait_for_function("document.activeElement && document.activeElement.id === 'username'")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
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
