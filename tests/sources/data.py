"""Topics for the EU F&T mock: each one shows a case the sync must handle."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.mocks.euft import CERV, CLOSED, FORTHCOMING, topic

TODAY = date.today()


def days(n: int) -> date:
    return TODAY + timedelta(days=n)


def eu_topics() -> list[dict[str, Any]]:
    """Eight topics (one repeated): served three to a page, that is four pages."""
    lonely = topic(
        "ESF-SOCPL-2027-INNOV-01",
        "Social innovation against loneliness of older people",
        "<p>Projects test <strong>peer support</strong> &amp; volunteer networks that reduce "
        "loneliness of older people living alone.</p><ul><li>Pilot in two regions</li>"
        "<li>Measure wellbeing</li></ul><script>track()</script>",
        deadlines=[days(60)],
        tags=["ageing"],
        keywords=["social innovation"],
        budget=2_000_000,
    )
    youth = topic(
        "CERV-2027-CHILD-02",
        "Participation of young people in local democracy",
        "<div>Youth councils and <em>co-designed</em> services for young people.</div>",
        status=FORTHCOMING,
        start=days(20),
        deadlines=[days(120)],
        programme=CERV,
        priorities=[],
        keywords=["social inclusion"],
    )
    closed = topic(
        "ESF-SOCPL-2026-OLD-03",
        "A closed call on homelessness",
        "<p>Housing first pilots.</p>",
        status=CLOSED,
        deadlines=[days(-30)],
    )
    two_stage_passed = topic(
        "HORIZON-CL2-2027-TRANSFO-04",
        "Inclusive labour markets for migrants",
        "<p>Research and innovation on employment of migrants and refugees.</p>",
        deadlines=[days(-5), days(150)],
        call_identifier="HORIZON-CL2-2027-TRANSFORMATIONS-01",
    )
    two_stage_ahead = topic(
        "HORIZON-CL2-2027-DEMO-05",
        "Digital inclusion of people with low income",
        "<p>Digital tools made with people on low income.</p>",
        deadlines=[days(40), days(200)],
        call_identifier="HORIZON-CL2-2027-DEMOCRACY-01",
    )
    sparse = topic(
        "ERASMUS-2027-SPORT-06",
        "Sport clubs as a route to inclusion for children with disabilities",
        "",
        drop=["descriptionByte", "budgetOverview", "actions", "startDate", "tags", "keywords"],
    )
    bad = topic(
        "ESF-SOCPL-2027-BAD-07",
        "A topic without a deadline",
        "<p>Missing the deadline date.</p>",
        drop=["deadlineDate", "actions"],
    )
    return [lonely, youth, closed, two_stage_passed, two_stage_ahead, lonely, sparse, bad]
