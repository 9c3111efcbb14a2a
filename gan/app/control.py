"""RunControl: GAN-Lab-style controls for a run in another thread (pause, resume, single
steps of D, G or both, stop, learning-rate changes). Thread-safe; ``train`` polls it."""
from __future__ import annotations

import threading
import time

from gan.app.threads import ThreadTuner, default_choices

STEP_KINDS = ("d", "g", "both")


class RunControl:
    def __init__(self, poll: float = 0.1, foreground=None, tune_threads: bool = False):
        self.foreground = foreground          # a gan.app.priority.Foreground to yield to between steps
        self.tune_threads = tune_threads      # time the steps to pick the CPU thread count (gan.app.threads)
        self._tuner = None
        self._backgrounded = False
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._paused = False
        self._stopped = False
        self._steps: list[str] = []
        self._lr: dict[str, float] = {}
        self.poll = poll

    # --- called from the UI thread
    def pause(self) -> None:
        with self._lock:
            self._paused = True

    def resume(self) -> None:
        with self._lock:
            self._paused = False
        self._wake.set()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
        self._wake.set()

    def request_step(self, kind: str = "both") -> None:
        """Run one step of D, G or both (pauses the run first)."""
        if kind not in STEP_KINDS:
            raise ValueError(f"step kind must be one of {STEP_KINDS}, got {kind!r}")
        with self._lock:
            self._paused = True
            self._steps.append(kind)
        self._wake.set()

    def set_lr(self, lr_g: float | None = None, lr_d: float | None = None) -> None:
        with self._lock:
            if lr_g is not None:
                self._lr["lr_g"] = lr_g
            if lr_d is not None:
                self._lr["lr_d"] = lr_d

    @property
    def running(self) -> bool:
        return not self._paused and not self._stopped

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def stopped(self) -> bool:
        return self._stopped

    # --- called from the training thread
    def wait(self, trainer) -> tuple[float, bool]:
        """Apply pending changes; while paused, wait up to ``poll`` s for a command.
        Returns (seconds waited while paused, whether a single step ran); time spent yielding
        to interactive requests is not returned: it counts against the run's length."""
        if self.foreground is not None and not self._backgrounded:
            self._backgrounded = True                       # before the tuner starts worker threads
            self.foreground.background()
        if self.tune_threads and self._tuner is None:
            self._tuner = ThreadTuner(default_choices())     # in the training thread: its threads
        if self._tuner is not None:
            self._tuner.tick()
        if self.foreground is not None and self.foreground.yield_to() and self._tuner is not None:
            self._tuner.pause()
        with self._lock:
            lr, self._lr = self._lr, {}
        if lr:
            trainer.set_lr(**lr)
        if not self._paused or self._stopped:
            return 0.0, False
        t0 = time.perf_counter()
        with self._lock:
            kind = self._steps.pop(0) if self._steps else None
        if self._tuner is not None:
            self._tuner.pause()
        if kind is None:
            self._wake.wait(self.poll)
            self._wake.clear()
            return time.perf_counter() - t0, False
        {"d": trainer.d_step, "g": trainer.g_step, "both": trainer.train_step}[kind]()
        return 0.0, True

    def close(self) -> None:
        """The run ended (call from its training thread): threads started later get the default count."""
        if self._tuner is not None:
            self._tuner.close()
            self._tuner = None
