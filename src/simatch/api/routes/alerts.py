"""Following needs: create a need, subscribe to new matches, read or end a subscription; the
one-click unsubscribe link; the outbox for staff."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Response
from fastapi import Path as PathParam
from fastapi import Query as Param
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, RootModel

from simatch.api.auth import Caller, CurateAccess, MatchAccess
from simatch.api.deps import AlertServiceDep
from simatch.api.errors import error_responses
from simatch.api.openapi import configured
from simatch.api.params import PageLimit
from simatch.domain.alerts import EMAIL_PATTERN, Channel, Delivery, Frequency, Subscription
from simatch.domain.fields import OptLanguage, OptStr, StrList, Text, Title
from simatch.domain.records import Need

router = APIRouter(prefix="/v1", tags=["alerts"])
links = APIRouter(tags=["alerts"])  # the unsubscribe link: no key, outside /v1

SUBSCRIPTION_ID = r"^[0-9a-f]{20}$"
SubscriptionIdPath = Annotated[
    str, PathParam(pattern=SUBSCRIPTION_ID, description="From `POST /v1/subscriptions`.")
]
NOT_FOUND = error_responses(
    {404: "No such subscription, or it was made with another key (staff see all)."}
)


class NeedRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "Yksinäiset nuoret",
                    "description": "Kunnassamme nuoret ovat yksinäisiä eikä heillä ole "
                    "paikkaa kokoontua.",
                    "organisation": "Pikkukunta",
                    "regions": ["Kainuu"],
                }
            ]
        },
    )

    title: Title
    description: Text
    language: OptLanguage = None
    organisation: OptStr = None
    regions: StrList = Field(default_factory=list)
    target_groups: StrList = Field(default_factory=list)
    contact: OptStr = Field(None, description="Shown to peers; leave out to stay unlisted.")


class _Subscribe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    need_id: str = Field(min_length=1, max_length=200, description="The need to follow.")
    frequency: Frequency = Field(
        "immediate", description="Each new match at once, or one digest a day or a week."
    )


class WebhookSubscriptionRequest(_Subscribe):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "need_id": "api-3f0c2b8e9d7a4c1f",
                    "channel": "webhook",
                    "url": "https://example.org/simatch-alerts",
                    "frequency": "immediate",
                }
            ]
        },
    )

    channel: Literal["webhook"]
    url: str = Field(
        max_length=2000,
        description="Where to POST: https (http only where the service allows it).",
        json_schema_extra=configured(pattern="webhook_url_pattern"),
    )


class EmailSubscriptionRequest(_Subscribe):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "need_id": "api-3f0c2b8e9d7a4c1f",
                    "channel": "email",
                    "address": "info@example.org",
                    "frequency": "weekly",
                }
            ]
        },
    )

    channel: Literal["email"]
    address: str = Field(
        max_length=254, pattern=EMAIL_PATTERN, description="Where to send; kept only for this."
    )


class SubscriptionRequest(
    RootModel[
        Annotated[
            WebhookSubscriptionRequest | EmailSubscriptionRequest, Field(discriminator="channel")
        ]
    ]
):
    """A webhook or an e-mail subscription (e-mail where SMTP is set up; Slack and Teams ones
    are made in the chat)."""

    model_config = ConfigDict(json_schema_extra=configured(oneOf="http_alert_channels"))


class SubscriptionView(BaseModel):
    id: str = Field(pattern=SUBSCRIPTION_ID)
    need_id: str
    channel: Channel
    frequency: Frequency
    url: str | None = None
    address: str | None = None
    language: str
    created: datetime
    last_activity: datetime | None = Field(description="When an alert was last delivered.")

    @classmethod
    def of(cls, sub: Subscription) -> SubscriptionView:
        return cls(
            id=sub.id,
            need_id=sub.need_id,
            channel=sub.channel,
            frequency=sub.frequency,
            url=sub.target.get("url"),
            address=sub.target.get("address"),
            language=sub.language,
            created=sub.created,
            last_activity=sub.last_activity,
        )


class NewSubscription(SubscriptionView):
    secret: str = Field(
        description="Webhook signing key: `X-Simatch-Signature: sha256=<hex HMAC-SHA256 of the "
        "body>`. Shown only now."
    )
    unsubscribe_url: str = Field(description="POST to it to end the subscription (no key).")


class DeliveryView(BaseModel):
    id: int
    delivery_id: str = Field(description="The idempotency key receivers see.")
    subscription_id: str
    channel: Channel
    kind: str
    state: Literal["pending", "sent", "failed", "cancelled"]
    attempts: int
    items: int
    due: datetime
    created: datetime
    finished: datetime | None
    last_error: str | None

    @classmethod
    def of(cls, d: Delivery) -> DeliveryView:
        return cls(
            id=d.id,
            delivery_id=d.idempotency_key,
            subscription_id=d.subscription_id,
            channel=d.channel,
            kind=d.kind,
            state=d.state,
            attempts=d.attempts,
            items=len(d.items),
            due=d.due,
            created=d.created,
            finished=d.sent,
            last_error=d.last_error,
        )


def _is_staff(caller: Caller) -> bool:
    return caller.key is not None and caller.key.allows("curate")


def _owner(caller: Caller) -> str | None:
    return caller.key.id if caller.key else None


@router.post(
    "/needs",
    status_code=201,
    response_model=Need,
    summary="Save a need (a described problem) that can then be followed",
    openapi_extra={
        "responses": {
            "201": {
                "links": {
                    "subscribe": {
                        "operationId": "create_subscription",
                        "requestBody": {"need_id": "$response.body#/id"},
                    }
                }
            }
        }
    },
)
def create_need(body: NeedRequest, _caller: MatchAccess, service: AlertServiceDep) -> Any:
    return service.create_need(body.model_dump(exclude_none=True))


@router.post(
    "/subscriptions",
    status_code=201,
    response_model=NewSubscription,
    responses=error_responses({404: "No need with this id."}),
    summary="Follow a need: alerts when a new solution, peer or open call matches it",
    openapi_extra={
        "responses": {
            "201": {
                "links": {
                    "get": {
                        "operationId": "get_subscription",
                        "parameters": {"subscription_id": "$response.body#/id"},
                    },
                    "delete": {
                        "operationId": "delete_subscription",
                        "parameters": {"subscription_id": "$response.body#/id"},
                    },
                }
            }
        }
    },
)
def create_subscription(
    body: SubscriptionRequest, caller: MatchAccess, service: AlertServiceDep
) -> NewSubscription:
    request = body.root
    sub = service.subscribe(
        request.need_id,
        request.channel,
        request.frequency,
        url=request.url if isinstance(request, WebhookSubscriptionRequest) else None,
        address=request.address if isinstance(request, EmailSubscriptionRequest) else None,
        owner=_owner(caller),
    )
    view = SubscriptionView.of(sub)
    return NewSubscription(
        **view.model_dump(), secret=sub.secret, unsubscribe_url=service.unsubscribe_url(sub)
    )


@router.get(
    "/subscriptions/{subscription_id}",
    response_model=SubscriptionView,
    responses=NOT_FOUND,
    summary="Read a subscription (never its secret)",
)
def get_subscription(
    subscription_id: SubscriptionIdPath, caller: MatchAccess, service: AlertServiceDep
) -> SubscriptionView:
    return SubscriptionView.of(service.get(subscription_id, _owner(caller), _is_staff(caller)))


@router.delete(
    "/subscriptions/{subscription_id}",
    status_code=204,
    response_class=Response,
    responses=NOT_FOUND,
    summary="End a subscription; what it stored is deleted",
)
def delete_subscription(
    subscription_id: SubscriptionIdPath, caller: MatchAccess, service: AlertServiceDep
) -> Response:
    service.unsubscribe(subscription_id, _owner(caller), _is_staff(caller))
    return Response(status_code=204)


@router.get(
    "/alerts/deliveries",
    response_model=list[DeliveryView],
    summary="The alert outbox, newest first (staff): what is pending, sent or given up",
)
def list_deliveries(
    _caller: CurateAccess,
    service: AlertServiceDep,
    state: Annotated[Literal["pending", "sent", "failed"] | None, Param()] = None,
    limit: PageLimit = 50,
) -> list[DeliveryView]:
    return [DeliveryView.of(d) for d in service.deliveries(state, limit)]


TokenPath = Annotated[
    str,
    PathParam(pattern=r"^[A-Za-z0-9_-]{1,64}\.[0-9a-f]{32}$", description="From the alert's link."),
]
_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>simatch</title></head>
<body><main><h1>{title}</h1><p>{text}</p>{form}</main></body></html>"""
_FORM = """<form method="post"><button type="submit">Lopeta / Stop</button></form>"""


@links.get(
    "/alerts/unsubscribe/{token}",
    response_class=HTMLResponse,
    responses=error_responses({404: "The link is not valid."}),
    summary="The unsubscribe link's page: one button stops the alerts",
)
def unsubscribe_page(token: TokenPath, service: AlertServiceDep) -> HTMLResponse:
    # A GET changes nothing: mail scanners open links. The button POSTs (RFC 8058 one-click).
    service.tokens_valid(token)
    return HTMLResponse(
        _PAGE.format(
            title="Lopetetaanko hälytykset? / Stop these alerts?",
            text="Tarpeesta ei lähetetä enää ilmoituksia tähän osoitteeseen. / No more alerts "
            "about this need will be sent here.",
            form=_FORM,
        )
    )


@links.post(
    "/alerts/unsubscribe/{token}",
    response_class=HTMLResponse,
    responses=error_responses({404: "The link is not valid."}),
    summary="One-click unsubscribe: ends the subscription (no key needed)",
)
def unsubscribe(token: TokenPath, service: AlertServiceDep) -> HTMLResponse:
    service.unsubscribe_with_token(token)
    return HTMLResponse(
        _PAGE.format(
            title="Hälytykset lopetettu / Alerts stopped",
            text="Tietosi tästä tilauksesta on poistettu. / What was stored for this "
            "subscription has been deleted.",
            form="",
        )
    )
