"""How many CPU threads a training step should use, chosen by timing the steps themselves.

On an idle machine more threads make a small GAN step faster. When something else keeps a core
busy (another visitor's run, a render, another program), a parallel region waits for its slowest
thread and the same step becomes *slower* than with one thread (README, Performance, has the
figures). The load changes while a run goes, so ``ThreadTuner`` keeps measuring: it keeps the choice whose
median step time is lowest and now and then tries another. A trial ends after its first step
that is clearly slower than the best, and a choice that keeps losing is tried less and less
often, so on a busy machine exploring costs one slow step in hundreds.

``torch.set_num_threads`` sets the calling thread's count (OpenMP's per-thread setting) and the
default that threads which have not yet run torch code start with; ``close()`` puts back the
process's default (``set_process_threads``), not what the thread saw: two runs that start and
end interleaved would otherwise leave one's choice as everybody's default.
"""
from __future__ import annotations

import os
import statistics
import time
from typing import Callable

import torch

SLOWER = 1.5            # a trial step this much slower than the best choice's median ends the trial


class ThreadTuner:
    def __init__(self, choices: tuple[int, ...] | None = None, window: int = 6, stay: int = 60,
                 max_stay: int = 960, clock: Callable[[], float] = time.perf_counter,
                 apply: Callable[[int], None] = torch.set_num_threads):
        cores = cpu_cores()
        self.choices = choices or ((1, cores) if cores > 1 else (1,))   # one thread first: never a bad start
        self.window, self.stay, self.max_stay = window, stay, max_stay
        self._clock, self._apply = clock, apply
        self._times: dict[int, list[float]] = {n: [] for n in self.choices}   # recent step times
        self._wait = {n: stay for n in self.choices}   # steps before a losing choice is tried again
        self._since_trial = 0
        self._best: int | None = None                  # None until every choice has been timed
        self._last: float | None = None
        self.current = self.choices[0]
        self._apply(self.current)

    def tick(self) -> None:
        """Call once per training step, from the training thread (the first call starts the clock)."""
        now = self._clock()
        last, self._last = self._last, now
        if last is None or len(self.choices) == 1:
            return
        times = self._times[self.current]
        times.append(now - last)
        del times[:-self.window]
        if self._best is None:                          # first round: time each choice in turn
            if len(times) >= self.window or self._clearly_slower(self.current):
                untimed = [n for n in self.choices if len(self._times[n]) < self.window
                           and not self._clearly_slower(n)]
                if untimed and untimed[0] != self.current:
                    self._switch(untimed[0])
                else:
                    self._settle()
            return
        if self.current != self._best:                  # on trial
            lost = self._clearly_slower(self.current) or \
                len(times) >= self.window and self._median(self.current) >= self._median(self._best)
            if lost:
                self._wait[self.current] = min(self.max_stay, self._wait[self.current] * 2)
            if lost or len(times) >= self.window:
                self._settle()
            return
        self._since_trial += 1
        due = [n for n in self.choices if n != self._best and self._since_trial >= self._wait[n]]
        if due:
            self._since_trial = 0
            self._times[due[0]].clear()
            self._switch(due[0])

    def _median(self, n: int) -> float:
        return statistics.median(self._times[n]) if self._times[n] else float("inf")

    def _clearly_slower(self, n: int) -> bool:
        others = [self._median(m) for m in self.choices if m != n]
        return bool(self._times[n]) and self._times[n][-1] > SLOWER * min(others)

    def _settle(self) -> None:
        best = min(self.choices, key=self._median)
        if best != self._best and self._best is not None:
            self._wait = {n: self.stay for n in self.choices}   # the load changed: explore at the base rate
        self._best = best
        self._since_trial = 0
        self._switch(best)

    def pause(self) -> None:
        """The run stopped stepping for a while (paused, yielding to a render): the next interval
        is not a step time."""
        self._last = None

    def _switch(self, n: int) -> None:
        if n != self.current:
            self.current = n
            self._apply(n)
            self._last = self._clock()                 # the switch itself is not part of a step

    def close(self) -> None:
        self._apply(process_threads())


def cpu_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:                         # not on Linux
        return os.cpu_count() or 1


_process_threads = torch.get_num_threads()


def process_threads() -> int:
    """The count threads start with unless they choose (torch's, or ``set_process_threads``)."""
    return _process_threads


def set_process_threads(n: int) -> None:
    """Make ``n`` the count every thread started from now on begins with (and this one's)."""
    global _process_threads
    _process_threads = n
    torch.set_num_threads(n)


def one_thread_per_request() -> None:
    """A CPU server's setting, called at start-up before the request threads exist: every thread
    started from now on runs torch ops on one core. Visitors' requests then run side by side, one
    per core, instead of each splitting into a team that waits on cores the others hold (a crowd's
    render p50 fell from ~150 to ~130 ms, README "Reliability"). Training threads still tune their
    own count (``ThreadTuner``), so a lone run gets every core."""
    set_process_threads(1)


def default_choices() -> tuple[int, ...] | None:
    """``GAN_TRAIN_THREADS=N`` fixes the count (no tuning); otherwise tune between all and one."""
    fixed = os.environ.get("GAN_TRAIN_THREADS", "").strip()
    return (max(1, int(fixed)),) if fixed.isdigit() else None
