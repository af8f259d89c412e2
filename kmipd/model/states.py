# -*- test-case-name: tests.operations.test_lifecycle -*-
"""The KMIP key lifecycle state machine as data (KMIP 1.4 section 3.22 / 2.1 section 4.57).

Every permitted transition of the spec's state diagram is one L{Transition} row: its number in
the spec's list, the source and target L{State}, and the L{Cause} (an operation or a date being
reached). Operation handlers ask L{next_state} instead of encoding the diagram in branches, and
L{due_state} gives the date-driven transitions. The errors raised for forbidden transitions are
defined here too (their Result Reasons differ between 1.x and 2.x; see L{kmipd.errors}).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..errors import NoLifecycle, ObjectDestroyed, WrongLifecycleState
from ..spec import State

__all__ = [
    "Cause",
    "DESTROYED_STATES",
    "NoLifecycle",
    "ObjectDestroyed",
    "TRANSITIONS",
    "Transition",
    "WrongLifecycleState",
    "due_state",
    "next_state",
    "transitions_from",
]


class Cause(enum.Enum):
    """What makes an object change state."""

    CREATE = "create"  # Create, Create Key Pair, Register, Derive Key, Re-key, ...
    ACTIVATE = "Activate operation"
    ACTIVATION_DATE = "Activation Date reached"
    DEACTIVATION_DATE = "Deactivation Date reached"
    REVOKE_COMPROMISE = "Revoke (Key Compromise / CA Compromise)"
    REVOKE = "Revoke (other reason)"
    DESTROY = "Destroy operation"


@dataclass(frozen=True)
class Transition:
    """One arrow of the spec's state diagram."""

    number: int  # the transition's number in the spec's list
    source: State | None  # None: the object does not exist yet
    target: State
    cause: Cause


P, A, D, C = State.PRE_ACTIVE, State.ACTIVE, State.DEACTIVATED, State.COMPROMISED
X, XC = State.DESTROYED, State.DESTROYED_COMPROMISED

#: The spec's list of transitions ("Only the transitions described above are permitted.").
#: Transition 4 and 6 by a Modify Attribute of the Activation / Deactivation Date to a date
#: not in the future are the date causes (the date is then reached).
TRANSITIONS: tuple[Transition, ...] = (
    Transition(1, None, P, Cause.CREATE),
    Transition(2, P, X, Cause.DESTROY),
    Transition(3, P, C, Cause.REVOKE_COMPROMISE),
    Transition(4, P, A, Cause.ACTIVATE),
    Transition(4, P, A, Cause.ACTIVATION_DATE),
    Transition(5, A, C, Cause.REVOKE_COMPROMISE),
    Transition(6, A, D, Cause.DEACTIVATION_DATE),
    Transition(6, A, D, Cause.REVOKE),
    Transition(7, D, X, Cause.DESTROY),
    Transition(8, D, C, Cause.REVOKE_COMPROMISE),
    Transition(9, C, XC, Cause.DESTROY),
    Transition(10, X, XC, Cause.REVOKE_COMPROMISE),
)

_TABLE: dict[tuple[State | None, Cause], State] = {(t.source, t.cause): t.target for t in TRANSITIONS}

DESTROYED_STATES = frozenset({X, XC})

#: Attribute -> states in which a client may add/modify it (spec attribute rule tables).
#: Process Start / Protect Stop Date additionally only before the date is reached.
MODIFIABLE_IN: dict[str, frozenset[State]] = {
    "Activation Date": frozenset({P}),
    "Deactivation Date": frozenset({P, A}),
    "Process Start Date": frozenset({P, A}),
    "Protect Stop Date": frozenset({P, A}),
}

#: Dates that may not change once reached.
FROZEN_ONCE_REACHED = frozenset({"Process Start Date", "Protect Stop Date"})



def next_state(state: int | None, cause: Cause) -> State | None:
    """The state C{cause} moves an object in C{state} to, or C{None} if the diagram forbids it."""
    source = State(state) if state is not None else None
    return _TABLE.get((source, cause))


def transitions_from(state: int | None) -> dict[Cause, State]:
    """Every permitted cause from C{state} and its target."""
    return {t.cause: t.target for t in TRANSITIONS if t.source == state}


def due_state(state: int | None, activation: object, deactivation: object, now: int) -> int | None:
    """The state after applying the date-driven transitions that are due at C{now}.

    Pre-Active -> Active when the Activation Date is reached (transition 4), then Active ->
    Deactivated when the Deactivation Date is reached (transition 6). A Pre-Active object
    without a reached Activation Date stays Pre-Active whatever its Deactivation Date (the
    diagram has no Pre-Active -> Deactivated arrow).
    """
    if state == P and isinstance(activation, int) and activation <= now:
        state = A
    if state == A and isinstance(deactivation, int) and deactivation <= now:
        state = D
    return state
