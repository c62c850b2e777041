"""Stand-ins for the line's effects, for trying a menu without a phone: `ivr simulate`, the walk and
the console's browser phone. Nothing is sent, dialled or recorded."""

from __future__ import annotations

from ..model.menu import Menu


class PretendTexting:
    """Texting that sends nothing and reports `outcome` (sent, by default); keeps what it was asked."""

    def __init__(self, outcome: str = "sent"):
        self.outcome = outcome
        self.asked: list[str] = []  # the nodes whose summaries were asked for

    def text_summary(self, menu: Menu, node: str, call) -> str:
        """Pretend to text `node`'s summary."""
        self.asked.append(node)
        return self.outcome
