"""The inbound queue (``bot/db/inbound.py``) on SQLite and PostgreSQL: order per conversation,
leases that expire when a worker dies, and concurrent claims that never take a request twice."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.db.engine import create_db_engine
from bot.db.inbound import InboundQueue


class Clock:
    """A settable clock for the leases."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def queue(db_url: str, clock: Clock) -> Iterator[InboundQueue]:
    engine = create_db_engine(db_url)
    yield InboundQueue(engine, lease_seconds=30, now=clock)
    engine.dispose()


def test_only_the_oldest_request_of_a_conversation_is_claimed(queue: InboundQueue) -> None:
    a1 = queue.put("slack", "U1", "a1", "application/json")
    a2 = queue.put("slack", "U1", "a2", "application/json")
    b1 = queue.put("slack", "U2", "b1", "application/json")
    queue.put("telegram", "U1", "other platform", "application/json")

    first = queue.claim("slack", "w1", limit=10)
    assert [(item.id, item.body) for item in first] == [(a1, "a1"), (b1, "b1")]
    assert queue.claim("slack", "w2", limit=10) == []  # a2 waits for a1, even on another worker

    assert queue.done(first[0], "w1")
    second = queue.claim("slack", "w2", limit=10)
    assert [item.id for item in second] == [a2]
    assert queue.backlog("slack") == 2  # b1 (still claimed by w1) and a2


def test_a_request_whose_worker_died_is_claimed_again_after_its_lease(queue: InboundQueue, clock: Clock) -> None:
    queue.put("slack", "U1", "a1", "application/json")
    (taken,) = queue.claim("slack", "w1")
    assert taken.attempts == 1
    clock.now += timedelta(seconds=29)
    assert queue.claim("slack", "w2") == []
    clock.now += timedelta(seconds=2)
    (again,) = queue.claim("slack", "w2")
    assert (again.id, again.attempts) == (taken.id, 2)
    assert not queue.done(taken, "w1")  # the dead worker's lease is gone: its late "done" changes nothing
    assert queue.done(again, "w2")
    assert queue.backlog() == 0


def test_concurrent_workers_take_every_request_exactly_once(queue: InboundQueue) -> None:
    for n in range(60):
        queue.put("slack", f"U{n % 15}", f"m{n}", "application/json")
    taken: dict[str, list[str]] = {f"w{n}": [] for n in range(4)}
    start = threading.Barrier(4)
    errors: list[BaseException] = []
    claimed_in_order: list[int] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        try:
            start.wait()
            idle = 0
            while idle < 50:
                items = queue.claim("slack", name, limit=3)
                if not items:
                    idle += 1
                    continue
                idle = 0
                for item in items:
                    taken[name].append(item.body)
                    with lock:
                        claimed_in_order.append(int(item.body[1:]))
                    assert queue.done(item, name)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(name,)) for name in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    everything = [body for bodies in taken.values() for body in bodies]
    assert sorted(everything) == sorted(f"m{n}" for n in range(60))
    for conversation in range(15):  # across workers, each conversation's requests in the order recorded
        mine = [n for n in claimed_in_order if n % 15 == conversation]
        assert mine == sorted(mine)
    assert queue.backlog() == 0
