"""Long button values in the database (:mod:`bot.db.callbacks`): shared by every bot process,
refreshed when sent again, expired after their time to live and purged."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select

from adapters.telegram.render import CallbackCodec
from bot.bootstrap import HelpdeskApp
from bot.clock import FrozenClock
from bot.db.callbacks import CallbackDataStore
from bot.db.models import CallbackData

AppFactory = Callable[..., HelpdeskApp]

LONG = "kb:read:" + "imprimante-du-deuxieme-etage-bloquee-apres-la-mise-a-jour-du-pilote"


def _rows(app: HelpdeskApp) -> int:
    with app.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(CallbackData)) or 0)


def _tokens(app: HelpdeskApp) -> set[str]:
    with app.uow() as uow:
        return set(uow.session.scalars(select(CallbackData.token)))


def test_a_value_stored_by_one_process_is_read_by_another(make_app: AppFactory, clock: FrozenClock) -> None:
    first, second = make_app(), make_app()
    sender = CallbackCodec(CallbackDataStore(first.uow, clock))
    receiver = CallbackCodec(CallbackDataStore(second.uow, clock))

    token = sender.encode(LONG)

    assert token.startswith("~") and len(token.encode()) <= 64
    assert receiver.decode(token) == LONG
    assert sender.encode(LONG) == token  # the same value always gets the same token
    assert receiver.decode("claim:12") == "claim:12"  # short values are not tokens
    assert _rows(first) == 1


def test_values_expire_and_are_purged_but_sending_again_refreshes_them(app: HelpdeskApp, clock: FrozenClock) -> None:
    ttl = timedelta(days=10)
    store = CallbackDataStore(app.uow, clock, ttl=ttl, purge_every=timedelta(hours=1))
    codec = CallbackCodec(store)
    kept, dropped = codec.encode(LONG + "-kept"), codec.encode(LONG + "-dropped")

    clock.advance(timedelta(days=6))
    codec.encode(LONG + "-kept")  # sent again on a refreshed card: its time to live starts over
    clock.advance(timedelta(days=5))

    other_process = CallbackCodec(CallbackDataStore(app.uow, clock))
    assert other_process.decode(kept) == LONG + "-kept"
    assert other_process.decode(dropped) == dropped  # expired: the core answers "no longer active"
    assert _tokens(app) == {kept, dropped}  # expired, not purged yet (at most once an hour)

    new = codec.encode(LONG + "-new")  # the next write after the hour purges the expired rows
    assert _tokens(app) == {kept, new}


def test_a_cached_value_sent_again_soon_costs_no_write(app: HelpdeskApp, clock: FrozenClock) -> None:
    codec = CallbackCodec(CallbackDataStore(app.uow, clock, ttl=timedelta(days=10)))
    codec.encode(LONG)
    with app.uow() as uow:
        first_expiry = uow.session.scalars(select(CallbackData.expires_at)).one()
    clock.advance(timedelta(hours=12))
    codec.encode(LONG)
    with app.uow() as uow:
        assert uow.session.scalars(select(CallbackData.expires_at)).one() == first_expiry
    clock.advance(timedelta(days=2))
    codec.encode(LONG)
    with app.uow() as uow:
        assert uow.session.scalars(select(CallbackData.expires_at)).one() == clock.now() + timedelta(days=10)
