"""Turning ranked candidates into the items a person reads: title, score, confidence and the
reasons why (the best passage, shared terms, region, target group, deadline, ...).

Reason codes are stable; the CLI, the API and the chat assistant render the same codes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from simatch.domain.evidence import best_passage
from simatch.domain.fusion import Scored
from simatch.domain.payload import NATIONAL_REGIONS, normalise_name, record_title
from simatch.domain.query import Query
from simatch.domain.results import Confidence, MatchItem, Provenance, Reason, RecordRef, Why
from simatch.domain.sections import FundedSimilar, FunderEntry, OpenCall, PeerGroup, is_actor, slug

SHOWN_TERMS = 6  # shared terms named per item
SHOWN_RECORDS = 5  # records listed under a peer or a funder


@dataclass(frozen=True)
class Explainer:
    """Everything explaining one result needs: the query's term weights (lemma -> (lemma
    shown, weight)), the query, the day calls are judged on, and how to grade a candidate."""

    weights: dict[str, tuple[str, float]]
    query: Query
    today: date
    grade: Callable[[Scored], Confidence]

    def item(self, cand: Scored) -> MatchItem:
        payload = cand.payload
        record = payload["record"]
        passage, terms = best_passage(payload.get("passages", []), self.weights)
        reasons: list[Reason] = [
            Reason(code="passage", params={"language": record.get("language")})
        ]
        if terms:
            reasons.append(Reason(code="terms", params={"terms": terms[:SHOWN_TERMS]}))
        reasons.extend(self._where_and_whom(payload["kind"], payload, record))
        item = MatchItem(
            id=payload["id"],
            kind=payload["kind"],
            title=record_title(record),
            score=round(min(1.0, cand.score), 4),
            confidence=self.grade(cand),
            url=record.get("url"),
            language=record.get("language"),
            organisation=record.get("organisation") or record.get("name"),
            regions=list(record.get("regions", [])),
            why=Why(
                passage=passage,
                passage_language=record.get("language"),
                terms=terms[:SHOWN_TERMS],
                reasons=reasons,
            ),
        )
        if record.get("source"):
            item.provenance = Provenance(
                source=record["source"],
                source_id=record.get("source_id"),
                url=record.get("source_url") or record.get("url"),
                fetched_at=record.get("fetched_at"),
            )
        if payload["kind"] == "call":
            item.funder = record.get("funder")
            item.programme = record.get("programme")
            if record.get("continuous"):
                item.continuous = True  # its far-off end date is not a deadline to show
                item.why.reasons.append(Reason(code="continuous"))
            else:
                deadline = date.fromisoformat(record["deadline"])
                item.deadline = deadline
                item.days_to_deadline = (deadline - self.today).days
                item.why.reasons.append(
                    Reason(
                        code="deadline",
                        params={"deadline": deadline.isoformat(), "days": item.days_to_deadline},
                    )
                )
            if record.get("eligible_applicants"):
                item.why.reasons.append(
                    Reason(code="applicants", params={"applicants": record["eligible_applicants"]})
                )
        return item

    def peer(self, group: PeerGroup) -> MatchItem:
        """An organisation (its actor record when it has one) with the records behind it."""
        lead, actor = group.lead, group.actor
        record = (actor or lead).payload["record"]
        name = record.get("name") or record.get("organisation") or lead.payload["organisation"]
        item = self.item(lead)
        item.id = actor.payload["id"] if actor else slug(name)
        item.kind = "actor" if actor else "organisation"
        item.title = name
        item.url = record.get("url") if actor else None
        item.organisation = name
        item.score = round(min(1.0, group.score), 4)
        item.records = _refs([m for m in group.members if not is_actor(m)])
        if item.records:
            item.why.reasons.append(
                Reason(code="peer_records", params={"count": len(item.records)})
            )
        return item

    def funder(self, entry: FunderEntry) -> MatchItem:
        """An open call as itself; a funder with the similar innovations it funded."""
        if isinstance(entry, OpenCall):
            return self.item(entry.call)
        return self._funded_similar(entry)

    def _funded_similar(self, entry: FundedSimilar) -> MatchItem:
        refs = _refs(entry.innovations, kind="innovation")
        titles = [r.title for r in refs[:3]]
        return MatchItem(
            id=entry.slug,
            kind="funder",
            title=entry.funder,
            score=round(min(1.0, entry.score), 4),
            confidence=self.grade(entry.innovations[0]),
            why=Why(
                passage=refs[0].title,
                reasons=[
                    Reason(code="funded_similar", params={"count": len(refs), "titles": titles})
                ],
            ),
            records=refs,
        )

    def _where_and_whom(
        self, kind: str, payload: dict[str, object], record: dict[str, object]
    ) -> list[Reason]:
        reasons: list[Reason] = []
        regions = _strings(record.get("regions"))
        wanted_regions = {normalise_name(r) for r in self.query.regions}
        served = [r for r in regions if normalise_name(r) in wanted_regions]
        national = any(r in NATIONAL_REGIONS for r in _strings(payload.get("regions")))
        if served:
            reasons.append(Reason(code="region", params={"regions": served}))
        elif wanted_regions and national:
            reasons.append(Reason(code="region", params={"regions": ["national"]}))
        elif kind == "call" and regions:
            # Where a call is open is part of its eligibility, asked for or not.
            reasons.append(
                Reason(code="region", params={"regions": ["national"] if national else regions})
            )
        wanted_groups = {normalise_name(t) for t in self.query.target_groups}
        groups = [
            g for g in _strings(record.get("target_groups")) if normalise_name(g) in wanted_groups
        ]
        if groups:
            reasons.append(Reason(code="target_group", params={"target_groups": groups}))
        return reasons


def _refs(members: Sequence[Scored], kind: str | None = None) -> list[RecordRef]:
    return [
        RecordRef(
            id=m.payload["id"],
            kind=kind or m.payload["kind"],
            title=str(m.payload.get("title") or m.payload["id"]),
            score=round(m.score, 4),
        )
        for m in members[:SHOWN_RECORDS]
    ]


def _strings(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []
