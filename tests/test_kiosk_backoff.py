"""Reconnect backoff with jitter: a table for the pure function, and the link handing it to paho."""

from __future__ import annotations

import random
import statistics

import pytest

from kiosk.core import Kiosk
from kiosk.link import Link
from kiosk.outbox import Outbox
from ressenti.mosquitto_runner import free_port
from ressenti.mqtt import Backoff, BrokerAddress, backoff_delay


@pytest.mark.parametrize("attempt, draw, expected", [
    (0, 0.0, 1.0), (0, 0.5, 1.5), (0, 1.0, 2.0),      # first retry: 1-2 s
    (1, 0.0, 2.0), (1, 1.0, 4.0),
    (2, 0.0, 4.0), (2, 1.0, 8.0),
    (3, 0.5, 12.0),
    (4, 0.0, 16.0), (4, 1.0, 32.0),
    (5, 0.0, 30.0), (5, 1.0, 60.0),                    # capped at 60 s
    (6, 0.0, 30.0), (50, 1.0, 60.0), (5000, 0.5, 45.0),  # and stays there, no overflow
])
def test_backoff_delay_table(attempt, draw, expected):
    assert backoff_delay(attempt, draw) == pytest.approx(expected)


@pytest.mark.parametrize("attempt, draw", [(-1, 0.5), (0, -0.1), (0, 1.5)])
def test_backoff_delay_rejects_nonsense(attempt, draw):
    with pytest.raises(ValueError):
        backoff_delay(attempt, draw)


def test_backoff_grows_resets_and_stays_within_1_and_60_s():
    backoff = Backoff(rng=random.Random(7))
    delays = [backoff.next_delay() for _ in range(12)]
    assert all(1.0 <= d <= 60.0 for d in delays)
    assert delays[0] <= 2.0 and delays[-1] >= 30.0
    assert all(later >= earlier / 2 for earlier, later in zip(delays, delays[1:], strict=False)), "never collapses"
    backoff.reset()
    assert backoff.next_delay() <= 2.0


def test_a_thousand_kiosks_cut_off_together_do_not_come_back_together():
    """After one broker restart, the retries spread out instead of arriving in lockstep."""
    fleet = [Backoff(rng=random.Random(seed)) for seed in range(1000)]
    for attempt in range(6):
        retry_at = [b.next_delay() for b in fleet]
        low, high = backoff_delay(attempt, 0), backoff_delay(attempt, 1)
        assert all(low <= t <= high for t in retry_at)
        # In any 100 ms of the window, at most a small share of the fleet.
        buckets = [0] * (int((high - low) * 10) + 1)
        for t in retry_at:
            buckets[int((t - low) * 10)] += 1
        assert max(buckets) <= 150, (attempt, max(buckets))
        assert statistics.pstdev(retry_at) > (high - low) / 4


def test_link_gives_paho_a_jittered_delay_before_each_retry(tmp_path, wait):
    """Against a port where nothing listens, each failed attempt sets paho's next wait from the backoff."""
    outbox = Outbox(tmp_path / "o.db")
    kiosk = Kiosk("k1", "s1", outbox)
    link = Link(kiosk, BrokerAddress("127.0.0.1", free_port()), backoff=Backoff(rng=random.Random(1)))
    link.start()
    try:
        wait(lambda: link.backoff.attempt >= 2, timeout=10, what="two failed attempts")
        assert not link.connected.is_set()
        assert link.last_error and "could not connect" in link.last_error
        expected = Backoff(rng=random.Random(1))
        first, second = expected.next_delay(), expected.next_delay()
        assert 1.0 <= first <= 2.0 and 2.0 <= second <= 4.0
        # paho waits its min_delay after reconnect_delay_set, which the link sets each time.
        assert link.client._reconnect_min_delay == link.client._reconnect_max_delay == second
    finally:
        link.stop()
        outbox.close()
