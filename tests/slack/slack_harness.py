"""Helpers of the Slack adapter tests: a recording core, the adapter's config, signed dispatch."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from fake_slack import VALID_TOKEN, FakeSlack
from slack_bolt import BoltRequest, BoltResponse
from slack_payloads import FORM, JSON, SIGNING_SECRET, signed_headers

from adapters.slack.app import SlackAdapter
from adapters.slack.config import SlackConfig
from bot.i18n import language_from_locale
from bot.port import Event, OutgoingMessage, Place, Reply, User

TECHNICIAN = "UTECH001"


@dataclass
class RecordingCore:
    """A stand-in for ``HelpdeskCore``: records what it is given, answers what the test decides."""

    events: list[Event] = field(default_factory=list)
    forms: list[tuple[User, Place, dict[str, str]]] = field(default_factory=list)
    form_ids: list[str] = field(default_factory=list)
    cards: list[OutgoingMessage] = field(default_factory=list)
    answer: Callable[[Event], list[Reply]] | None = None
    form_error: Exception | None = None
    calls: list[tuple[User, Place, dict[str, str], dict[str, str], str]] = field(default_factory=list)
    technicians: set[str] = field(default_factory=lambda: {f"slack:{TECHNICIAN}"})
    gate: threading.Event | None = None
    """When set, ``handle`` waits for it: proves that Slack was acknowledged before processing."""

    def handle(self, event: Event) -> list[Reply]:
        if self.gate is not None:
            assert self.gate.wait(5), "the test never released the core"
        self.events.append(event)
        if self.answer is not None:
            return self.answer(event)
        return [Reply(event.place, OutgoingMessage(text=f"echo: {getattr(event, 'text', '')}"))]

    def open_ticket_from_form(
        self, user: User, place: Place, fields: dict[str, str], *, event_id: str = ""
    ) -> list[Reply]:
        self.forms.append((user, place, dict(fields)))
        self.form_ids.append(event_id)
        if self.form_error is not None:
            raise self.form_error
        return [Reply(place, OutgoingMessage(text=f"Ticket #7 is open: {fields['title']}"))]

    def open_tickets_for(self, user: User) -> list[OutgoingMessage]:
        return list(self.cards)

    def log_call_from_form(
        self,
        technician: User,
        place: Place,
        caller: dict[str, str],
        fields: dict[str, str],
        *,
        event_id: str = "",
    ) -> list[Reply]:
        self.calls.append((technician, place, dict(caller), dict(fields), event_id))
        if self.form_error is not None:
            raise self.form_error
        text = f"#8 is open for {caller.get('name')} (phone call)."
        return [Reply(place, OutgoingMessage(text=text, ephemeral=True))]

    def is_technician(self, user_key: str) -> bool:
        return user_key in self.technicians

    def language_of(self, user: User) -> str:
        return language_from_locale(user.locale)


def slack_config(fake: FakeSlack | str, **overrides: object) -> SlackConfig:
    """The adapter's configuration in HTTP mode against the fake Web API (the fake, or its API URL)."""
    values: dict[str, object] = {
        "enabled": True,
        "mode": "http",
        "bot_token": VALID_TOKEN,
        "signing_secret": SIGNING_SECRET,
        "http_host": "127.0.0.1",
        "http_port": 0,
        "api_base_url": fake if isinstance(fake, str) else fake.api_url,
        "triage_channel": "CTRIAGE1",
        "technicians": [TECHNICIAN],
    }
    values.update(overrides)
    return SlackConfig.model_validate(values)


def add_requester(fake: FakeSlack) -> None:
    """Anne, the requester of the Slack tests (a French-speaking Belgian profile with phone and mail)."""
    fake.add_user(
        "U111",
        real_name="Anne Dupont",
        display_name="anne",
        email="anne.dupont@example.be",
        phone="+32 2 123 45 67",
        locale="fr-BE",
    )


def dispatch(adapter: SlackAdapter, body: str, content_type: str = JSON, **header_overrides: str) -> BoltResponse:
    """Send a correctly signed request through the real bolt App; wait for the processing after ack."""
    headers: dict[str, str | Sequence[str]] = {**signed_headers(body, content_type), **header_overrides}
    response = adapter.bolt.dispatch(BoltRequest(body=body, headers=headers))
    assert adapter.wait_idle(30), "the listener did not finish"
    return response


def dispatch_form(adapter: SlackAdapter, body: str) -> BoltResponse:
    """A signed form-encoded request (slash commands, interactivity)."""
    return dispatch(adapter, body, FORM)
