"""Messages kept language-neutral in the outbox and rendered in the recipient's language on delivery.

A technician's card or notice is written to the outbox in the change's transaction, but it is
read later, by people whose language the writer does not know (a Dutch technician's terminal, a
Telegram group, a Slack channel). Such an entry carries what is needed to render it instead of
the finished text: the ticket whose card it is, or lines of :class:`Phrase` (a msgid and its
parameters, plural forms included) and plain strings (what a person typed). The dispatcher asks
the messenger for the language of the chat at delivery time and renders it then
(:meth:`bot.outbox.OutboxDispatcher.renderer`).

The JSON form, in ``outbox.payload["render"]``::

    {"card": 12}                                      # the technicians' card of ticket 12
    {"reader": "requester", "opened": 12}             # the confirmation of ticket 12, with its requester's card
    {"lines": [{"t": "{ref}: {name} took …", "p": {"ref": "#12", "name": "Luc"}}, "typed text"]}
    {"reader": "slack:U1", "lang": "nl", "lines": [{"t": "… on {when}", "p": {"when": {"when": "2026-…"}}}]}

``reader`` names the one person a message is for (``requester``: the ticket's), whose language it is
written in on delivery; ``{"when": ISO}`` is a moment, written in the reader's locale (:class:`When`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.i18n import Translator, translator
from bot.presenters import when_text


@dataclass(frozen=True)
class When:
    """A moment in a deferred message, written on delivery as the reader's locale says it
    (:func:`bot.presenters.when_text`: ``mar. 24 novembre à 10:00``, the year only when it is not this year's)."""

    at: datetime

    def render(self, t: Translator, now: datetime | None = None) -> str:
        """The moment in ``t``'s language, relative to ``now`` (the delivery time) for the year."""
        return when_text(t, self.at, now or self.at)


@dataclass(frozen=True)
class Phrase:
    """A message to translate later: ``msgid`` with ``params`` (a parameter may be a phrase or a moment).

    With ``plural`` and ``count`` it is rendered with the plural forms of the reader's language.
    """

    msgid: str
    params: Mapping[str, str | int | Phrase | When] = field(default_factory=dict)
    plural: str | None = None
    count: int | None = None

    def render(self, t: Translator, now: datetime | None = None) -> str:
        """The phrase in ``t``'s language (moments written relative to ``now``, the delivery time)."""
        values = {
            name: value.render(t, now) if isinstance(value, Phrase | When) else value
            for name, value in self.params.items()
        }
        if self.plural is not None and self.count is not None:
            return t.plural(self.msgid, self.plural, self.count, **values)
        return t(self.msgid, **values)


def later(msgid: str, /, **params: str | int | Phrase | When) -> Phrase:
    """``msgid`` to translate on delivery (an extraction keyword, like ``t``)."""
    return Phrase(msgid, params)


def later_plural(singular: str, plural: str, count: int, /, **params: str | int | Phrase | When) -> Phrase:
    """The plural message for ``count`` to translate on delivery (``{count}`` is filled in too)."""
    return Phrase(singular, params, plural, count)


Line = Phrase | str
"""One line of a deferred message: a phrase to translate, or text shown as it is."""


def encode_phrase(phrase: Phrase) -> dict[str, Any]:
    """A phrase as JSON-able data."""
    data: dict[str, Any] = {"t": phrase.msgid}
    if phrase.params:
        data["p"] = {k: _encode_param(v) for k, v in phrase.params.items()}
    if phrase.plural is not None:
        data["pl"] = phrase.plural
        data["n"] = phrase.count
    return data


def _encode_param(value: str | int | Phrase | When) -> Any:
    if isinstance(value, Phrase):
        return encode_phrase(value)
    if isinstance(value, When):
        return {"when": value.at.isoformat()}
    return value


def _decode_param(value: Any) -> str | int | Phrase | When:
    if isinstance(value, dict):
        return When(datetime.fromisoformat(value["when"])) if "when" in value else decode_phrase(value)
    return value  # type: ignore[no-any-return]


def decode_phrase(data: Mapping[str, Any]) -> Phrase:
    """The inverse of :func:`encode_phrase`."""
    params = {k: _decode_param(v) for k, v in data.get("p", {}).items()}
    return Phrase(str(data["t"]), params, data.get("pl"), data.get("n"))


def encode_lines(lines: Sequence[Line]) -> list[Any]:
    """Lines as JSON-able data (plain strings stay strings)."""
    return [encode_phrase(line) if isinstance(line, Phrase) else line for line in lines]


def render_lines(t: Translator, data: Sequence[Any], now: datetime | None = None) -> str:
    """Encoded lines rendered in ``t``'s language, one per line (moments relative to ``now``)."""
    return "\n".join(decode_phrase(item).render(t, now) if isinstance(item, dict) else str(item) for item in data)


def payload_text(payload: Mapping[str, Any], language: str) -> str:
    """The text of an outbox payload in ``language``, for listings (``outbox list``) and checks.

    A queued card or confirmation is named by its ticket (``card #12``, ``confirmation #12``): it is drawn
    from the ticket on delivery.
    """
    spec = payload.get("render")
    if spec is None:
        return str(payload.get("text", ""))
    if "card" in spec:
        return f"card #{spec['card']}"
    if "opened" in spec:
        return f"confirmation #{spec['opened']}"
    return render_lines(translator(language), spec.get("lines", []))
