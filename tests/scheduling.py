"""Where the slow scenarios go in a parallel run, so that no single worker runs them one after another.

pytest-xdist's work-stealing scheduler first hands each worker one contiguous share of the
collected tests, and a worker that runs dry later steals from the *end* of another's queue. Slow
tests placed at the head of one share therefore stay with that worker: all of them at the head of
the list made one worker run every scenario in turn (some five minutes on two cores) while the
other finished early and stole only fast tests. Each share now starts with its part of the
scenarios, balanced by their expected seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import islice
from typing import TypeVar

T = TypeVar("T")


def initial_shares(count: int, workers: int) -> list[int]:
    """How many of `count` tests each of `workers` idle workers is first sent (as xdist's worksteal does)."""
    sizes: list[int] = []
    remaining = count
    for i in range(workers):
        size = remaining // (workers - i)
        sizes.append(size)
        remaining -= size
    return sizes


def spread_slow(items: Sequence[T], seconds: Callable[[T], float | None], workers: int) -> list[T]:
    """`items` reordered so each worker's first share starts with a balanced part of the slow ones.

    `seconds` gives a slow test's expected duration, None for any other test. Slow tests are
    placed longest first on the share with the least expected time so far; the other tests keep
    their order and fill the shares up to the sizes the scheduler will send.
    """
    slow = sorted((item for item in items if seconds(item) is not None), key=lambda item: -(seconds(item) or 0.0))
    rest = iter([item for item in items if seconds(item) is None])
    if workers <= 1:
        return [*slow, *rest]
    heads: list[list[T]] = [[] for _ in range(workers)]
    loads = [0.0] * workers
    for item in slow:
        lightest = min(range(workers), key=lambda k: loads[k])
        heads[lightest].append(item)
        loads[lightest] += seconds(item) or 0.0
    ordered: list[T] = []
    for head, size in zip(heads, initial_shares(len(items), workers), strict=True):
        ordered.extend(head)
        ordered.extend(islice(rest, max(0, size - len(head))))
    ordered.extend(rest)
    return ordered
