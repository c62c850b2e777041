"""Checking a draft of menus.yaml as staff type it: the loader's errors, `ivr check`'s warnings, and
how many text messages each reply the line can send would take."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..conversation import engine
from ..menufile.build import parse_menu_bytes
from ..menufile.yaml_strict import MenuFileError
from ..model import gsm
from ..model.menu import Menu
from ..model.problem import Problem
from .lint import lint

# A menu file is a few dozen kilobytes; a draft far past that is a paste gone wrong, not a menu.
MAX_DRAFT_BYTES = 256 * 1024


@dataclass(frozen=True)
class TextReply:
    """One reply the line can text, with where it is written and what it costs to send."""

    source: str  # such as "nodes.casting" or "phrases.sms_help"
    language: str
    line: int
    encoding: str  # "GSM-7" or "UCS-2"
    characters: int
    segments: int


@dataclass(frozen=True)
class DraftCheck:
    """What checking a draft found: problems in file order, and the text replies of a menu that loads."""

    problems: list[Problem]
    replies: list[TextReply] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(p.severity == "error" for p in self.problems)

    @property
    def loads(self) -> bool:
        """Whether the line could serve this draft (it has no errors)."""
        return self.errors == 0


def check_draft(text: str, source: str = "draft") -> DraftCheck:
    """Check `text` as the line would load it; problems name `source` as their file."""
    # A lone surrogate is how Python keeps a byte that was not UTF-8 (surrogateescape): kept as
    # bytes, the loader reports the line that is not UTF-8 instead of the check failing.
    data = text.encode("utf-8", "surrogatepass")
    if len(data) > MAX_DRAFT_BYTES:
        return DraftCheck([Problem(source, 1, 1, f"the draft is {len(data) // 1024} KiB, more than a menu "
                                                 f"file can be ({MAX_DRAFT_BYTES // 1024} KiB)",
                                   "paste the menu file alone, not something else with it")])
    try:
        menu = parse_menu_bytes(data, source)
    except MenuFileError as error:
        return DraftCheck(list(error.problems))
    problems = sorted([*menu.warnings, *lint(menu)], key=lambda p: (p.line, p.col))
    return DraftCheck(problems, text_replies(menu))


def text_replies(menu: Menu) -> list[TextReply]:
    """Every text the menu and its translations can send, in file order."""
    replies = []
    for one in (menu, *menu.translations.values()):
        for source, reply in engine.sms_replies_for_review(one):
            encoding = gsm.encoding_of(reply)
            path = f"{source}.text" if source.startswith("nodes.") else source
            replies.append(TextReply(source, one.language, one.where(path)[0], encoding.name,
                                     encoding.units, encoding.segments))
    return sorted(replies, key=lambda r: r.line)
