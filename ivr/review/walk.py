"""Walk every path a caller can take through the conversation service: silence, traps, errors."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from ..conversation import callback_flow, engine
from ..conversation.engine import Gather
from ..conversation.fakes import PretendDesk, PretendTexting
from ..conversation.service import Call, CallStep, Conversation
from ..model.menu import Menu
from ..model.problem import Problem

# Every key on a keypad, a key sequence that means nothing, and silence (None).
INPUTS = tuple("0123456789*#") + ("12", None)
# Where a callback number is keyed in: a good one too, so its read-back is walked.
NUMBER_INPUTS = INPUTS + ("5025550199",)
# The walk's caller: a number the line may call back, attested, so the own-number offer is walked.
WALK_CALLER = "+15025550123"
START = "_start"  # the state before the first menu; menus.yaml ids cannot start with "_"
DIALLING = "_dialling"  # the call is ringing the scheduling line
DIAL_INPUTS = engine.DIAL_STATUSES
# The walk's clock starts here (a Monday), and looks a week ahead for an open and a closed moment.
REFERENCE = datetime(2026, 1, 5, tzinfo=timezone.utc)


@dataclass
class WalkReport:
    """What the walk found: every problem, and how much of the line it covered."""

    problems: list[Problem] = field(default_factory=list)
    states: int = 0
    steps: int = 0


def walk(menu: Menu) -> WalkReport:
    """Press every key, let every prompt time out and try every transfer outcome and every way a
    text can go, open and closed, from every state a call can reach, up to the retry limit, through
    the conversation service itself; report silence, loops with no way out, and errors."""
    report = WalkReport()
    # A state is where the call is listening: (node, tries). Edges lead to states or to an end.
    edges: dict[Gather, set[Gather | str]] = {}
    start = Gather(START)
    clocks = _clocks(menu)
    queue = deque([(start, lambda conversation, call: conversation.start(menu, call))])
    seen: set[Gather] = set()
    reaches_operator: set[Gather] = {Gather(DIALLING)}
    while queue:
        origin, step = queue.popleft()
        report.steps += 1
        try:
            steps = _every_outcome(step, origin, clocks)
        except Exception as exc:  # an error is exactly what the walk is for
            report.problems.append(_problem(menu, origin, f"the engine failed: {exc!r}"))
            continue
        for done in steps:
            turn = done.turn
            if not (turn.say or turn.prompt or turn.notices or turn.dial or turn.hangup):
                report.problems.append(_problem(menu, origin, "a caller is left in silence"))
            for target in _next_states(menu, done):
                edges.setdefault(origin, set()).add(target)
                if isinstance(target, Gather) and target not in seen:
                    seen.add(target)
                    queue.extend((target, _stepper(menu, target, key)) for key in _inputs(target))
            if turn.dial == menu.operator_number:
                reaches_operator.add(origin)
    report.states = len(seen) + 1
    _report_traps(menu, edges, reaches_operator, report)
    return report


def _clocks(menu: Menu) -> list:
    """One moment the scheduling line is open and one it is closed (only those it has)."""
    if menu.hours is None:
        return [lambda: REFERENCE]
    moments = [REFERENCE + timedelta(minutes=30 * i) for i in range(2 * 24 * 8)]
    wanted = [next((m for m in moments if menu.hours.is_open(m) is state), None) for state in (True, False)]
    return [lambda moment=moment: moment for moment in wanted if moment is not None]


def _every_outcome(step, origin: Gather, clocks: list) -> list[CallStep]:
    """`step` open and closed, and, where it texts, once for every way the text can turn out."""
    steps = []
    call = Call(sid="walk", tries=origin.tries, informed=True, attestation="A", caller=WALK_CALLER,
                reason=origin.why, number=origin.number)
    for clock in clocks:
        texting = PretendTexting()
        steps.append(step(Conversation(texting, clock=clock, callbacks=PretendDesk()), call))
        if texting.asked:
            steps += [step(Conversation(PretendTexting(outcome), clock=clock, callbacks=PretendDesk()), call)
                      for outcome in engine.TEXT_OUTCOMES if outcome != texting.outcome]
    return steps


def _inputs(state: Gather) -> tuple:
    if state.node == callback_flow.ENTER_NUMBER:
        return NUMBER_INPUTS
    return DIAL_INPUTS if state.node == DIALLING else INPUTS


def _stepper(menu: Menu, state: Gather, key: str | None):
    if state.node == DIALLING:
        return lambda conversation, call: conversation.transfer_ended(menu, call, key)
    if key is None:
        return lambda conversation, call: conversation.silence(menu, call, state.node)
    return lambda conversation, call: conversation.key(menu, call, state.node, key)


def _next_states(menu: Menu, step: CallStep) -> list[Gather | str]:
    if step.menu is not menu:  # the call goes on in the other language, which is walked on its own
        return ["end"]
    if step.turn.gather is not None:
        return [step.turn.gather]
    if step.turn.dial:
        return [Gather(DIALLING)]
    return ["end"]  # a hang-up, or the callback message, after which the call says goodbye


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
        elif state not in can_reach_person and state.node not in OWN_NODES:
            report.problems.append(_problem(menu, state, "a caller here has no way to reach the "
                                                         "scheduling line"))


# The line's own messages where scheduling cannot answer, and the callback flow: they end with the
# scheduling number and goodbye rather than a transfer.
OWN_NODES = callback_flow.OWN_NODES


def _problem(menu: Menu, state: Gather, message: str) -> Problem:
    path = "call.start" if state.node == START else f"nodes.{state.node}"
    line, col = menu.where(path)
    where = "at the start of the call" if state.node == START else f"at '{state.node}'"
    return Problem(menu.source, line, col, f"{message} ({where}, after {state.tries} failed tries)",
                   "check this node's options and the retry setting with 'ivr simulate'")
