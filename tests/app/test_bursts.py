"""Tests of gan/app/bursts.py: training in GPU bursts, with a stand-in for ZeroGPU's ``spaces.GPU``
that behaves as it does where it matters (the call runs in a forked worker, its arguments and
result cross a process boundary, a refused lease raises, an overrun lease is killed)."""
import multiprocessing
import pickle
import threading

import pytest
import torch

from gan.app.bursts import Burst, burst, burst_in_worker, burst_lease, train_in_bursts
from gan.app.control import RunControl
from gan.engine.loop import train
from gan.engine.trainer import Trainer
from tests.helpers import synthetic_digits, tiny_config

DIGITS = synthetic_digits(200, seed=0)


class StandInZeroGPU:
    """``spaces.GPU(duration=...)`` as ZeroGPU runs it: every call in a fresh forked process; the
    first ``refuse_after`` calls served, later ones refused with ZeroGPU's quota message; a call
    that outlives its lease killed (``lease_cap`` seconds caps what ``duration`` asks)."""

    def __init__(self, refuse_after: int = 10**6, lease_cap: float | None = None):
        self.refuse_after, self.lease_cap, self.calls, self.leases = refuse_after, lease_cap, 0, []

    def GPU(self, duration):                                # noqa: N802 - the name spaces gives it
        def decorate(fn):
            def call(*args):
                seconds = duration(*args)
                self.leases.append(seconds)
                self.calls += 1
                if self.calls > self.refuse_after:
                    raise RuntimeError("You have exceeded your GPU quota (60s requested vs. 0s left).")
                return _in_a_worker(fn, args, min(seconds, self.lease_cap or seconds))
            return call
        return decorate


def _child(conn, fn, args):
    conn.send_bytes(pickle.dumps(fn(*args)))                # results cross the boundary pickled, as there
    conn.close()


def _in_a_worker(fn, args, seconds: float):
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    worker = ctx.Process(target=_child, args=(child, fn, pickle.loads(pickle.dumps(args))), daemon=True)
    worker.start()
    child.close()
    if not parent.poll(seconds):
        worker.kill()
        worker.join()
        raise RuntimeError("GPU task aborted")               # ZeroGPU's words for an overrun lease
    out = pickle.loads(parent.recv_bytes())
    worker.join()
    return out


def _cpu_trainer(preset="dcgan", **kw):
    return Trainer(tiny_config(preset, ema=0.9, batch_size=64, device="cpu", **kw), DIGITS)


def _weights(m):
    return {k: v.clone() for k, v in m.state_dict().items()}


@pytest.mark.parametrize("preset", ["dcgan", "wgan-gp"])
def test_a_run_in_many_short_bursts_ends_bit_exact_with_the_same_run_in_one_go(preset):
    one_go = train(trainer=_cpu_trainer(preset, steps=12)).trainer
    t = _cpu_trainer(preset, steps=12)
    seen, calls = [], []

    def lease(*args):
        calls.append(args[3])                               # what the run had left: None for a steps run
        return burst(*args[:4], burst_seconds=0.0)          # one step a lease: the most splits
    result = train_in_bursts(t, lease, DIGITS, progress=seen.append)
    assert result.status == "finished" and t.step == 12 and len(calls) >= 12 and calls[0] is None
    for name in ("G", "D", "G_ema"):
        a, b = _weights(getattr(one_go, name)), _weights(getattr(t, name))
        assert all(torch.equal(a[k], b[k]) for k in a), name
    elapsed = [p.elapsed for p in seen]
    assert elapsed == sorted(elapsed) and seen[-1].status == "finished" and seen[-1].samples is not None
    assert {p.status for p in seen[:-1]} == {"running"}     # a lease that ran out is not the run's end


def test_bursts_in_forked_workers_carry_a_seconds_run_to_its_length_and_lease_what_is_left():
    zero = StandInZeroGPU()
    t = _cpu_trainer("vanilla", seconds=1.5, steps=None)
    result = train_in_bursts(t, zero.GPU(duration=burst_lease)(burst_in_worker), DIGITS, burst_seconds=0.5)
    assert result.status == "finished" and t.step > 0 and zero.calls >= 3
    assert 1.5 <= result.history[-1].elapsed < 3.0
    assert zero.leases[0] == 1 + 20 and all(s <= 21 for s in zero.leases)    # ceil(0.5 s) + the margin
    assert burst_lease(None, None, None, 0.2, 20.0) == 21 and burst_lease(None, None, None, None, 20.0) == 40
    assert [burst_lease(None, None, None, left, 20.0) for left in (100.0, 20.0, 19.2, 0.0, -3.0)] == [40, 40, 40, 20, 20]


def test_a_refused_lease_goes_on_on_the_cpu_and_says_why():
    zero, said = StandInZeroGPU(refuse_after=1), []
    t = _cpu_trainer("dcgan", steps=30)
    result = train_in_bursts(t, zero.GPU(duration=burst_lease)(burst_in_worker), DIGITS, say=said.append, burst_seconds=0.05)
    assert result.status == "finished" and t.step == 30 and zero.calls == 2
    assert said and "GPU quota" in said[0] and "goes on on the CPU" in said[0]
    steps = [p.step for p in result.history]
    assert steps == sorted(steps) and steps[-1] == 30


def test_an_overrun_lease_is_killed_and_the_run_goes_on_on_the_cpu():
    zero, said = StandInZeroGPU(lease_cap=0.01), []           # the worker cannot even start in 10 ms
    t = _cpu_trainer("vanilla", steps=8)
    result = train_in_bursts(t, zero.GPU(duration=burst_lease)(burst_in_worker), DIGITS, say=said.append)
    assert result.status == "finished" and t.step == 8 and "GPU task aborted" in said[0]


def test_pause_steps_and_learning_rates_act_on_the_run_between_bursts():
    control = RunControl(poll=0.01)
    t = _cpu_trainer("dcgan", steps=20)
    leased_lr, returned_d = [], []                          # G's learning rate each lease ships; D steps it returns

    def lease(*args):
        leased_lr.append(args[1]["config"]["lr_g"])
        if len(leased_lr) == 2:                             # the visitor acts while the second burst trains
            control.set_lr(lr_g=1e-5)
            control.request_step("d")                       # pauses, then one D step on the CPU copy
        if len(leased_lr) == 3:
            control.stop()
        b = burst(*args[:4], burst_seconds=0.0)
        returned_d.append(b.meta["d_step_count"])
        return b

    done = {}
    th = threading.Thread(target=lambda: done.update(r=train_in_bursts(t, lease, DIGITS, control=control)))
    th.start()
    while th.is_alive() and t.d_step_count != (returned_d[1] + 1 if len(returned_d) == 2 else -1):
        th.join(0.01)                                       # the D step, on the CPU copy
    th.join(0.3)
    assert th.is_alive() and len(leased_lr) == 2            # paused: no lease, the GPU is not held
    assert t.lr[0] == pytest.approx(1e-5) and t.d_step_count == returned_d[1] + 1   # one D step, no more
    control.resume()
    th.join(30)
    assert done["r"].status == "aborted" and leased_lr == [pytest.approx(2e-4)] * 2 + [pytest.approx(1e-5)]


def test_a_burst_result_pickles_and_leaves_no_cuda_tensor():
    t = _cpu_trainer("cgan", steps=3)
    from gan.engine.checkpoint import trainer_state
    b = burst(*trainer_state(t), DIGITS, None, burst_seconds=10.0)
    assert isinstance(b, Burst) and b.status == "finished"
    again = pickle.loads(pickle.dumps(b))
    assert all(v.device.type == "cpu" for v in again.tensors.values()) and again.reports[-1].step == 3
