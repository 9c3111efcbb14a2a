"""ThreadTuner picks the faster thread count from the steps' own times, and follows the load."""
import threading

import pytest
import torch

from gan.app.control import RunControl
from gan.app.threads import ThreadTuner, cpu_cores, one_thread_per_request, process_threads, set_process_threads


def run_threads(*targets) -> None:
    threads = [threading.Thread(target=f) for f in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)


def count_in_a_new_thread() -> int:
    seen = []
    run_threads(lambda: seen.append(torch.get_num_threads()))
    return seen[0]


class FakeSteps:
    """A clock whose steps take ``cost[threads]`` seconds with the tuner's current choice."""

    def __init__(self, cost):
        self.cost, self.t, self.applied = cost, 0.0, []

    def clock(self):
        return self.t

    def apply(self, n):
        self.applied.append(n)

    def run(self, tuner, steps):
        for _ in range(steps):
            tuner.tick()
            self.t += self.cost[tuner.current]


IDLE = {2: 0.077, 1: 0.141}          # the app's cgan step on an idle 2-core machine (measured)
BUSY = {2: 0.286, 1: 0.128}          # beside one CPU-bound process


def test_keeps_the_faster_count_and_measures_again_when_the_load_changes():
    steps = FakeSteps(IDLE)
    tuner = ThreadTuner((1, 2), window=4, stay=20, clock=steps.clock, apply=steps.apply)
    steps.run(tuner, 12)
    assert tuner.current == 2 and steps.applied[-1] == 2
    steps.cost = BUSY
    steps.run(tuner, 40)
    assert tuner.current == 1 and steps.applied[-1] == 1
    steps.cost = IDLE
    steps.run(tuner, 40)
    assert tuner.current == 2


def test_on_a_busy_machine_trying_the_slower_count_costs_one_step_and_ever_fewer():
    steps = FakeSteps(BUSY)
    tuner = ThreadTuner((1, 2), window=6, stay=30, max_stay=240, clock=steps.clock, apply=steps.apply)
    counts = {1: 0, 2: 0}
    for _ in range(1000):
        counts[tuner.current] += 1
        tuner.tick()
        steps.t += steps.cost[tuner.current]
    assert counts[2] <= 8, counts            # 1 first-round step + one per (doubling) trial
    assert tuner.current == 1


def test_an_outlier_step_does_not_decide():
    steps = FakeSteps(IDLE)
    tuner = ThreadTuner((2, 1), window=5, stay=100, clock=steps.clock, apply=steps.apply)
    tuner.tick()
    steps.t += 3.0                                                 # one report step draws a grid
    steps.run(tuner, 14)
    assert tuner.current == 2


def test_time_spent_paused_is_not_a_step():
    steps = FakeSteps(IDLE)
    tuner = ThreadTuner((2, 1), window=3, stay=100, clock=steps.clock, apply=steps.apply)
    for _ in range(3):                                             # every 2-thread step follows a long pause
        tuner.tick()
        steps.t += 0.077
        tuner.tick()
        tuner.pause()
        steps.t += 5.0
    steps.run(tuner, 8)
    assert tuner.current == 2


def test_a_fixed_count_never_changes_and_close_restores_the_default():
    steps = FakeSteps({1: 0.5})
    tuner = ThreadTuner((1,), clock=steps.clock, apply=steps.apply)
    steps.run(tuner, 50)
    tuner.close()
    assert steps.applied == [1, torch.get_num_threads()]


def test_the_training_thread_sets_its_own_count_and_gives_the_default_back(monkeypatch):
    default = torch.get_num_threads()
    if default < 2:
        pytest.skip("needs a machine with 2 or more cores")
    monkeypatch.setenv("GAN_TRAIN_THREADS", "1")
    control, seen = RunControl(tune_threads=True), {}
    other_ready, training_set, done = threading.Event(), threading.Event(), threading.Event()

    class Trainer:
        def set_lr(self, **kw):
            pass

    def other():                                                   # e.g. a render worker, already running
        torch.ones(1_000_000).add_(1)                              # big enough to run in parallel
        other_ready.set()
        training_set.wait(30)
        seen["other"] = torch.get_num_threads()

    def training():
        other_ready.wait(30)
        for _ in range(3):
            control.wait(Trainer())
        seen["during"] = torch.get_num_threads()
        training_set.set()
        done.wait(30)
        control.close()

    threads = [threading.Thread(target=f) for f in (other, training)]
    for t in threads:
        t.start()
    threads[0].join(30)
    done.set()
    threads[1].join(30)
    seen["later"] = count_in_a_new_thread()
    assert seen == {"during": 1, "other": default, "later": default}


def test_a_cpu_server_runs_each_request_thread_on_one_core_and_training_still_tunes():
    if cpu_cores() < 2:
        pytest.skip("needs a machine with 2 or more cores")
    before, seen = process_threads(), {}
    try:
        one_thread_per_request()

        def request():
            seen["request"] = torch.get_num_threads()
            tuner = ThreadTuner()
            seen["choices"] = tuner.choices
            tuner.close()
            seen["after"] = torch.get_num_threads()

        t = threading.Thread(target=request)
        t.start()
        t.join(30)
    finally:
        set_process_threads(before)
    assert seen == {"request": 1, "choices": (1, cpu_cores()), "after": 1}


def test_runs_ending_interleaved_leave_the_process_default():
    """Run A picks one thread, run B starts (its thread begins with A's choice), A ends, B ends:
    threads started afterwards still get the process's default, not A's choice."""
    if cpu_cores() < 2:
        pytest.skip("needs a machine with 2 or more cores")
    default = process_threads()
    a_set, b_started, a_done = threading.Event(), threading.Event(), threading.Event()

    def run_a():
        tuner = ThreadTuner((1,))
        a_set.set()
        b_started.wait(30)
        tuner.close()
        a_done.set()

    def run_b():
        a_set.wait(30)
        tuner = ThreadTuner()
        b_started.set()
        a_done.wait(30)
        tuner.close()

    run_threads(run_a, run_b)
    assert count_in_a_new_thread() == default and torch.get_num_threads() == default
