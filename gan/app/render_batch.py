"""Renders of many visitors merged into few forward passes.

``RenderBatcher.generate(model, z, labels, visitor)`` queues one visitor's latents; a worker
(at most one per core) waits ``window_s`` for more requests for the same model, runs one
batched generator call on all of them and hands each visitor its rows. A visitor's newer
request supersedes their older one still in the queue (it returns None: nothing to draw,
the newer picture is on its way), so a dragged slider never queues stale work.

Which job next: the oldest *cheap* one (estimated cost - its rows times its model's measured
seconds a row - under ``cheap_s``), so that a one-digit grid never waits behind another
visitor's 100-digit keras-dcgan grid, a hundred times dearer; otherwise the one with the least slack, every
job being due the same time after it was queued (least queued-at minus cost): an expensive
job goes before a cheaper one queued a little earlier, which still has time to spare. A pass
merges the chosen job's model's other queued jobs only while its estimated cost stays under
``merge_s`` (or the chosen job's own): merging small grids saves passes, but two 100-digit
keras-dcgan grids in one pass would make both wait twice as long as two workers drawing them
side by side.

Batches are padded to a few fixed sizes (``BUCKETS``): the CPU kernels (oneDNN) keep one
compiled primitive per input shape, and a crowd asking for every size from 1 to 100 would
otherwise grow that cache without bound. Steps of 8 rows up to 64 and of 16 up to 128 pad
less than powers of two would.
"""
from __future__ import annotations

import bisect
import os
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import torch

BUCKETS = (1, 2, 4, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256)


def bucket(n: int) -> int:
    """The padded batch size for ``n`` rows (a multiple of the largest bucket above it)."""
    if n > BUCKETS[-1]:
        return -(-n // BUCKETS[-1]) * BUCKETS[-1]
    return BUCKETS[bisect.bisect_left(BUCKETS, n)]


@dataclass(eq=False)                      # compared by identity: a field-wise == would compare tensors
class _Job:
    model: object
    z: torch.Tensor
    labels: torch.Tensor | None
    visitor: str | None
    done: threading.Event = field(default_factory=threading.Event)
    images: np.ndarray | None = None
    error: BaseException | None = None
    superseded: bool = False
    queued_at: float = field(default_factory=time.perf_counter)


class RenderBatcher:
    def __init__(self, workers: int | None = None, window_s: float = 0.004, max_rows: int = 256,
                 cheap_s: float = 0.01, merge_s: float = 0.05):
        self.workers = max(1, min(workers or os.cpu_count() or 1, os.cpu_count() or 1))
        self.window_s, self.max_rows, self.cheap_s, self.merge_s = window_s, max_rows, cheap_s, merge_s
        self._row_s: dict[int, float] = {}            # id(model) -> measured seconds a padded row
        self._cond = threading.Condition()
        self._queue: list[_Job] = []
        self._latest: dict[str, _Job] = {}            # visitor -> their queued job
        self._threads: list[threading.Thread] = []
        self.batches = self.rows = 0                  # forward passes and rows rendered (for tests and stats)

    def generate(self, model, z: torch.Tensor, labels: torch.Tensor | None = None,
                 visitor: str | None = None) -> np.ndarray | None:
        """uint8 (n, 28, 28) for these latents (and labels), or None when superseded."""
        job = _Job(model, z, labels, visitor)
        with self._cond:
            self._start_workers()
            old = self._latest.get(visitor) if visitor is not None else None
            if old is not None and old in self._queue:
                self._queue.remove(old)
                old.superseded = True
                old.done.set()
            if visitor is not None:
                self._latest[visitor] = job
            self._queue.append(job)
            self._cond.notify()
        job.done.wait()
        if job.error is not None:
            raise job.error
        return None if job.superseded else job.images

    def _start_workers(self) -> None:
        while len(self._threads) < self.workers:
            t = threading.Thread(target=self._work, name=f"render-{len(self._threads)}", daemon=True)
            self._threads.append(t)
            t.start()

    def _cost(self, job: _Job) -> float:
        """Estimated seconds of a job; unmeasured models count as expensive (taken in age order)."""
        row_s = self._row_s.get(id(job.model))
        return float("inf") if row_s is None else row_s * bucket(len(job.z))

    def _take(self) -> list[_Job]:
        """The oldest cheap job, else the least slack one, with the queued jobs of its model that
        fit in the pass (``max_rows`` rows, ``merge_s`` estimated seconds) (under the lock)."""
        first = next((j for j in self._queue if self._cost(j) <= self.cheap_s), None)
        if first is None:                             # deadlines alike: least slack = queued_at - cost
            first = min(self._queue, key=lambda j: j.queued_at - self._cost(j))
        model, budget = first.model, max(self.merge_s, self._cost(first))
        batch, rows, cost = [], 0, 0.0
        for job in [first] + [j for j in self._queue if j is not first]:
            if job.model is not model:
                continue
            if batch and (rows + len(job.z) > self.max_rows or cost + self._cost(job) > budget):
                continue
            batch.append(job)
            rows, cost = rows + len(job.z), cost + self._cost(job)
            self._queue.remove(job)
            if self._latest.get(job.visitor) is job:
                del self._latest[job.visitor]
        return batch

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                wait = self.window_s - (time.perf_counter() - self._queue[0].queued_at)
                if wait > 0:                          # let a few more requests join this pass
                    self._cond.wait(wait)
                    if not self._queue:
                        continue
                try:
                    batch = self._take()
                except Exception as e:  # noqa: BLE001 - never lose the worker: fail what is queued instead
                    batch, self._queue[:] = list(self._queue), []
                    for j in batch:
                        j.error = e
                        j.done.set()
                    continue
            self._run(batch)

    def _run(self, batch: list[_Job]) -> None:
        try:
            model = batch[0].model
            z = torch.cat([j.z for j in batch])
            labels = torch.cat([j.labels for j in batch]) if model.conditional else None
            n, padded = len(z), bucket(len(z))
            if padded > n:                             # pad to a bucket: a few shapes, a bounded kernel cache
                z = torch.cat([z, z[:1].expand(padded - n, -1)])
                labels = torch.cat([labels, labels[:1].expand(padded - n)]) if labels is not None else None
            t0 = time.perf_counter()
            images = model.generate(z, labels, fast=True)[:n]
            row_s = (time.perf_counter() - t0) / padded
            with self._cond:                           # two workers may finish at once
                self.batches, self.rows = self.batches + 1, self.rows + n
                old = self._row_s.get(id(model))
                if old is None and len(self._row_s) >= 256:   # visitors' own models come and go
                    self._row_s.clear()
                self._row_s[id(model)] = row_s if old is None else 0.8 * old + 0.2 * row_s
            start = 0
            for j in batch:
                j.images = images[start:start + len(j.z)]
                start += len(j.z)
        except Exception as e:  # noqa: BLE001 - each waiting visitor gets the error
            for j in batch:
                j.error = e
        finally:
            for j in batch:
                j.done.set()
