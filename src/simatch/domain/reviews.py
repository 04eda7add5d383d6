"""Staff decisions on the review queues, remembered so that a decided item does not return:
a pair of suspected duplicates (kept both, marked as translations, one deleted), a gap (made
into a need, or handled) and a 👎 feedback entry (handled)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from simatch.domain.audit import Actor

Queue = Literal["pair", "gap", "feedback"]
PairDecision = Literal["keep_both", "translations", "deleted"]
GapDecision = Literal["need", "handled"]
PAIR_DECISIONS: tuple[PairDecision, ...] = ("keep_both", "translations", "deleted")


def pair_subject(a: str, b: str) -> str:
    """One name for a pair whichever way round it is given."""
    first, second = sorted((a, b))
    return f"{first}|{second}"


@dataclass(frozen=True)
class Decision:
    queue: Queue
    subject: str  # a pair_subject, a gap id, a feedback id
    decision: str
    who: str
    at: datetime
    detail: dict[str, Any]


class ReviewLog(Protocol):
    def decide(
        self,
        queue: Queue,
        subjects: Sequence[str],
        decision: str,
        actor: Actor,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Remember a decision on each subject (a later one replaces an earlier one)."""
        ...

    def decided(self, queue: Queue, subjects: Sequence[str] | None = None) -> dict[str, Decision]:
        """The decisions of a queue (on ``subjects``, or all), by subject."""
        ...

    def close(self) -> None: ...
