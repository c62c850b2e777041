"""Shared helpers of the simulator tests: a page's forms, pressing one of its buttons, its words."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from conftest import MENUS
from console_helpers import token_in
from werkzeug.datastructures import MultiDict

# Scheduling is open on weekdays 08:00-17:00 in Louisville, closed at weekends.
HOURS = ('\nhours:\n  time_zone: America/Kentucky/Louisville\n'
         + "".join(f'  {day}: "08:00-17:00"\n' for day in ("monday", "tuesday", "wednesday", "thursday",
                                                            "friday"))
         + "  saturday: closed\n  sunday: closed\n")
SATURDAY_10 = "2026-11-28T10:00"
MONDAY_10 = "2026-11-30T10:00"


def menus_with_hours(tmp_path) -> str:
    path = tmp_path / "menus.yaml"
    path.write_text(MENUS.read_text() + HOURS)
    return str(path)


class _Forms(HTMLParser):
    """Every form of a page: its action, its fields (name, value) and its submit buttons."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action"), "method": attrs.get("method", "get"),
                               "fields": [], "buttons": []})
        elif self.forms and tag == "input" and attrs.get("type") == "hidden":
            self.forms[-1]["fields"].append((attrs["name"], attrs.get("value", "")))
        elif self.forms and tag == "button" and attrs.get("type", "submit") == "submit":
            self.forms[-1]["buttons"].append((attrs.get("name"), attrs.get("value"), attrs.get("aria-label")))


def forms(page: str) -> list[dict]:
    parser = _Forms()
    parser.feed(page)
    return parser.forms


def buttons(page: str) -> list[tuple]:
    """The buttons of the page's posted forms (not of the menu switch, which is a GET form)."""
    return [button for form in forms(page) if form["method"] == "post" for button in form["buttons"]]


def submit(client, page: str, name: str | None, value: str | None = None, **extra: str):
    """Press the submit button `name`=`value` of `page` (as a browser would: the form's hidden
    fields, the button's own name and value, and `extra` typed into the form's boxes)."""
    for form in forms(page):
        if form["action"] == "/console/sign-out" or form["method"] != "post":
            continue
        for button_name, button_value, _ in form["buttons"]:
            if button_name == name and (value is None or button_value == value):
                data = list(form["fields"])
                if name:
                    data.append((name, button_value or ""))
                data += list(extra.items())
                return client.post(form["action"], data=MultiDict(data))
    raise AssertionError(f"no button {name}={value} on the page")


def text_of(page: str) -> str:
    """The page's visible words, tags taken out, spaces squeezed."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page))).strip()


def last_turn(page: str) -> str:
    """The words of the call's last turn."""
    turns = page.split('<li class="turn"')
    assert len(turns) > 1, "no turn on the page"
    return text_of('<li class="turn"' + turns[-1].split("</ol>\n</section>")[0])


def start_call(client, when: str | None = None):
    """Open the browser phone and press Call (at `when`, or the time the page offers)."""
    page = client.get("/console/phone").get_data(as_text=True)
    offered = re.search(r'name="when"[^>]*value="([^"]*)"', page).group(1)
    return client.post("/console/phone", data={"csrf_token": token_in(page), "when": when or offered,
                                               "call": "1"})
