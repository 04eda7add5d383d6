"""Grouping fused candidates into the peers and funders sections.

Peers: organisations, each with the records (innovations, needs) that make it a peer.
Funders: open calls, and funders of the most similar innovations ("funded similar work").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from simatch.domain.fusion import Scored
from simatch.domain.payload import normalise_name


@dataclass(frozen=True)
class PeerGroup:
    score: float
    organisation: str
    members: tuple[Scored, ...]  # best first

    @property
    def lead(self) -> Scored:
        return self.members[0]

    @property
    def actor(self) -> Scored | None:
        """The organisation's own actor record, when it has one among the members."""
        return next((m for m in self.members if is_actor(m)), None)


@dataclass(frozen=True)
class OpenCall:
    score: float
    slug: str  # the call's id
    call: Scored


@dataclass(frozen=True)
class FundedSimilar:
    score: float
    slug: str
    funder: str
    innovations: tuple[Scored, ...]  # best first


FunderEntry = OpenCall | FundedSimilar


def peer_groups(candidates: Sequence[Scored]) -> list[PeerGroup]:
    """Candidates (sorted, best first) grouped by organisation, strongest group first."""
    groups: dict[str, list[Scored]] = {}
    for cand in candidates:
        org = cand.payload.get("organisation")
        if org:
            groups.setdefault(org, []).append(cand)
    # More records on the same problem make a stronger peer (up to +10 %), rescaled so that
    # the score stays in 0..1 and comparable with the other sections.
    ranked = [PeerGroup(_grouped(m[0].score, len(m)), org, tuple(m)) for org, m in groups.items()]
    return sorted(ranked, key=lambda g: (-g.score, g.organisation))


def funder_entries(
    calls: Sequence[Scored], others: Sequence[Scored], from_top: int
) -> list[FunderEntry]:
    """Open calls, and the funders of the ``from_top`` most similar innovations."""
    funded: dict[str, tuple[str, list[Scored]]] = {}
    top_innovations = [c for c in others if c.payload["kind"] == "innovation"]
    for cand in top_innovations[:from_top]:
        for funder in cand.payload.get("funders") or []:
            funded.setdefault(normalise_name(funder), (funder, []))[1].append(cand)
    entries: list[FunderEntry] = [OpenCall(c.score, c.payload["id"], c) for c in calls]
    for name, members in funded.values():
        # Ranked a little below an open call of equal relevance: a call can be applied to now.
        score = _grouped(max(m.score for m in members), len(members), 0.85)
        entries.append(FundedSimilar(score, slug(name), name, tuple(members)))
    entries.sort(key=lambda e: (-e.score, e.slug))
    return entries


def is_actor(cand: Scored) -> bool:
    return bool(cand.payload["kind"] == "actor")


def slug(name: str) -> str:
    found = re.sub(r"[^\w]+", "-", name.casefold()).strip("-")
    return found or "unknown"


def _grouped(best: float, size: int, factor: float = 1.0) -> float:
    return factor * best * (1 + 0.05 * min(2, size - 1)) / 1.1
