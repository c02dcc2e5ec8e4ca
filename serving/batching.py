"""``Coalescer``: concurrent requests' rows scored together in one ``predict`` call per model.

A request first ``enter``s (before it parses its body), then ``score``s. A batch is flushed as
soon as every entered request has submitted, when it reaches ``max_rows``, or ``wait_s`` after
its first submission, whichever comes first: a lone request never waits, concurrent ones share a
call. Runs on one asyncio loop; prediction happens on the loop, between requests.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["Coalescer", "Predictor"]

Matrix = npt.NDArray[np.float64]


class Predictor(Protocol):
    def predict(self, matrix: Matrix) -> Matrix: ...


class Coalescer:
    """Micro-batches ``(model, matrix)`` submissions; each submission gets its own slice back."""

    def __init__(self, max_rows: int = 2048, wait_s: float = 0.001) -> None:
        self.max_rows = max_rows
        self.wait_s = wait_s
        self.batches = 0
        self.rows = 0
        self._entered = 0
        self._pending: list[tuple[Predictor, Matrix, asyncio.Future[Matrix]]] = []
        self._pending_rows = 0
        self._timer: asyncio.TimerHandle | None = None

    def enter(self) -> None:
        """A request started; the next flush may wait for it."""
        self._entered += 1

    def leave(self) -> None:
        """A request that ``enter``ed ended without scoring (e.g. invalid input)."""
        self._entered -= 1
        self._maybe_flush()

    async def score(self, model: Predictor, matrix: Matrix) -> Matrix:
        """Scores of ``matrix`` by ``model``; the caller must have ``enter``ed."""
        future: asyncio.Future[Matrix] = asyncio.get_running_loop().create_future()
        self._entered -= 1
        self._pending.append((model, matrix, future))
        self._pending_rows += len(matrix)
        self._maybe_flush()
        return await future

    def _maybe_flush(self) -> None:
        if not self._pending:
            return
        if self._entered <= 0 or self._pending_rows >= self.max_rows:
            self._flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.wait_s, self._flush)

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pending, self._pending, self._pending_rows = self._pending, [], 0
        groups: dict[int, list[tuple[Predictor, Matrix, asyncio.Future[Matrix]]]] = {}
        for item in pending:
            groups.setdefault(id(item[0]), []).append(item)
        for items in groups.values():
            self._run(items)

    def _run(self, items: list[tuple[Predictor, Matrix, asyncio.Future[Matrix]]]) -> None:
        model = items[0][0]
        try:
            stacked = items[0][1] if len(items) == 1 else np.concatenate([m for _, m, _ in items])
            scores = model.predict(stacked)
        except Exception as exc:
            for _, _, future in items:
                if not future.done():
                    future.set_exception(exc)
            return
        self.batches += 1
        self.rows += len(stacked)
        start = 0
        for _, matrix, future in items:
            end = start + len(matrix)
            if not future.done():  # a cancelled request (client went away) is skipped
                future.set_result(scores[start:end])
            start = end
