"""Walk every path a caller can take through the real engine, looking for silence, traps and errors."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from ..conversation import engine
from ..conversation.engine import Gather, Turn
from ..menufile.yaml_strict import Problem
from ..model.menu import Menu

# Every key on a keypad, a key sequence that means nothing, and silence (None).
INPUTS = tuple("0123456789*#") + ("12", None)
START = "_start"  # the state before the first menu; menus.yaml ids cannot start with "_"


@dataclass
class WalkReport:
    """What the walk found: every problem, and how much of the line it covered."""

    problems: list[Problem] = field(default_factory=list)
    states: int = 0
    steps: int = 0


def walk(menu: Menu) -> WalkReport:
    """Press every key, let every prompt time out and try every transfer outcome, from every state
    a call can reach, up to the retry limit; report silence, loops with no way out, and errors."""
    report = WalkReport()
    # A state is where the call is listening: (node, tries). Edges lead to states or to an end.
    edges: dict[Gather, set[Gather | str]] = {}
    start = Gather(START)
    queue = deque([(start, lambda: engine.start_call(menu))])
    seen: set[Gather] = set()
    reaches_operator: set[Gather] = set()
    while queue:
        origin, step = queue.popleft()
        report.steps += 1
        try:
            turn = step()
        except Exception as exc:  # an error is exactly what the walk is for
            report.problems.append(_problem(menu, origin, f"the engine failed: {exc!r}"))
            continue
        acts = turn.dial or turn.hangup or turn.send_text or turn.switch_language
        if not (turn.say or turn.prompt or acts):
            report.problems.append(_problem(menu, origin, "a caller is left in silence"))
        for target in _next_states(menu, turn):
            edges.setdefault(origin, set()).add(target)
            if isinstance(target, Gather) and target not in seen:
                seen.add(target)
                queue.extend((target, _stepper(menu, target, key)) for key in INPUTS)
        if turn.dial == menu.operator_number:
            reaches_operator.add(origin)
    report.states = len(seen) + 1
    _report_traps(menu, edges, reaches_operator, report)
    return report


def _stepper(menu: Menu, state: Gather, key: str | None):
    if key is None:
        return lambda: engine.silence(menu, state.node, state.tries)
    return lambda: engine.press(menu, state.node, key, state.tries)


def _next_states(menu: Menu, turn: Turn) -> list[Gather | str]:
    if turn.gather is not None:
        return [turn.gather]
    if turn.switch_language:  # the call goes on in the other language, which is walked on its own
        return ["end"]
    if turn.send_text:  # every way sending the text can turn out
        return [engine.text_result(menu, turn.send_text, outcome).gather for outcome in engine.TEXT_OUTCOMES]
    if turn.dial:
        targets: list[Gather | str] = []
        for outcome in engine.DIAL_STATUSES:
            after = engine.dial_ended(menu, outcome)
            targets += [after.gather] if after.gather else ["end"]
        if menu.hours is not None:  # outside the hours the transfer becomes the closed message
            targets.append(engine.instead_of_transfer(menu, turn).gather)
        return targets
    return ["end"]


def _report_traps(menu: Menu, edges, reaches_operator: set[Gather], report: WalkReport) -> None:
    # Work backwards from the ends: a state that cannot reach one is a loop a caller cannot leave.
    can_end = {state for state, targets in edges.items() if "end" in targets}
    can_reach_person = set(reaches_operator)
    changed = True
    while changed:
        changed = False
        for state, targets in edges.items():
            if state not in can_end and can_end & targets:
                can_end.add(state)
                changed = True
            if state not in can_reach_person and can_reach_person & targets:
                can_reach_person.add(state)
                changed = True
    for state in edges:
        if state not in can_end:
            report.problems.append(_problem(menu, state, "a caller here is in a loop with no way out"))
        elif state not in can_reach_person and state.node not in (engine.UNAVAILABLE, engine.CLOSED):
            report.problems.append(_problem(menu, state, "a caller here has no way to reach the "
                                                         "scheduling line"))


def _problem(menu: Menu, state: Gather, message: str) -> Problem:
    path = "call.start" if state.node == START else f"nodes.{state.node}"
    line, col = menu.where(path)
    where = "at the start of the call" if state.node == START else f"at '{state.node}'"
    return Problem(menu.source, line, col, f"{message} ({where}, after {state.tries} failed tries)",
                   "check this node's options and the retry setting with 'ivr simulate'")
