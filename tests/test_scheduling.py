"""The slow scenarios are spread over the workers' first shares, as xdist's worksteal will send them."""

from __future__ import annotations

from tests.scheduling import initial_shares, spread_slow

SLOW = {"scale": 130.0, "day": 80.0, "replays": 40.0, "browser": 20.0, "contract": 12.0}


def _seconds(name: str) -> float | None:
    return SLOW.get(name)


def _shares(order: list[str], workers: int) -> list[list[str]]:
    shares, start = [], 0
    for size in initial_shares(len(order), workers):
        shares.append(order[start : start + size])
        start += size
    return shares


def test_initial_shares_split_as_the_scheduler_does() -> None:
    assert initial_shares(1487, 2) == [743, 744]
    assert initial_shares(10, 3) == [3, 3, 4]
    assert sum(initial_shares(1487, 3)) == 1487


def test_no_worker_gets_every_slow_scenario() -> None:
    items = [f"fast-{n}" for n in range(40)] + list(SLOW)
    order = spread_slow(items, _seconds, 2)
    assert sorted(order) == sorted(items)
    first, second = _shares(order, 2)
    # Each share starts with its scenarios (stealing takes from a queue's end, so they stay put)...
    assert first[:2] == ["scale", "contract"]
    assert second[:3] == ["day", "replays", "browser"]
    # ...balanced by expected seconds, and the other tests keep their order.
    assert [item for item in order if item not in SLOW] == [f"fast-{n}" for n in range(40)]


def test_three_workers_each_start_with_a_scenario() -> None:
    items = list(SLOW) + [f"fast-{n}" for n in range(30)]
    heads = [share[0] for share in _shares(spread_slow(items, _seconds, 3), 3)]
    assert heads == ["scale", "day", "replays"]


def test_one_process_runs_the_scenarios_first_longest_first() -> None:
    items = ["fast-0", "browser", "fast-1", "scale"]
    assert spread_slow(items, _seconds, 1) == ["scale", "browser", "fast-0", "fast-1"]
