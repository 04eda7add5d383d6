"""`simatch alerts run` (deliver what is due; for cron) and `simatch alerts status`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from simatch.cli.terminal import opened, out

alerts_app = typer.Typer(help="Alerts for followed needs: deliver, status.", no_args_is_help=True)


@alerts_app.command("run")
def run(
    catch_up: Annotated[
        bool,
        typer.Option(
            help="First check records indexed while detection could not run (opens the "
            "index, so not while `simatch serve` holds the embedded one)."
        ),
    ] = False,
) -> None:
    """Deliver the alerts that are due (digests included), with retries; safe to re-run."""
    with opened() as box:
        report = box.alert_service.run(catch_up=catch_up)
    if catch_up:
        out.print(f"caught up: {report.caught_up} new alert item(s)")
    out.print(f"alerts: {report.dispatch}")


@alerts_app.command("status")
def status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Subscriptions, the outbox by state, and the deliveries given up (with their errors)."""
    with opened() as box:
        counts = box.alert_service.status()
    failures = [
        {
            "id": d.id,
            "subscription_id": d.subscription_id,
            "channel": d.channel,
            "attempts": d.attempts,
            "error": d.last_error,
            "created": d.created.isoformat(timespec="seconds"),
        }
        for d in counts.failures
    ]
    summary = {
        "subscriptions": counts.subscriptions,
        "pending": counts.pending,
        "sent": counts.sent,
        "failed": counts.failed,
        "journal_pending": counts.journal_pending,
        "failures": failures,
    }
    if as_json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    out.print(
        f"{counts.subscriptions} subscription(s); outbox: {counts.pending} pending, "
        f"{counts.sent} sent, {counts.failed} given up; {counts.journal_pending} record(s) "
        "waiting for detection"
    )
    for f in failures:
        out.print(
            f"given up: delivery {f['id']} ({f['channel']}, subscription "
            f"{f['subscription_id']}) after {f['attempts']} attempt(s): {f['error']}"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
