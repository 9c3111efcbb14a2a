"""What can be proved on a CPU of the app on Hugging Face ZeroGPU: importing app.py initialises
no CUDA and wires the GPU bursts, each lease asks for what the run has left of a burst,
torch.compile is off, a visitor's run trains in bursts and goes on on the CPU when ZeroGPU
refuses, and every value the training stream yields pickles. (The bursts in forked workers, with
a stand-in for ``spaces.GPU``: tests/app/test_bursts.py.)"""
import pickle
import subprocess
import sys
from types import SimpleNamespace

from tests.helpers import ROOT

FAKE_SPACES = '''
durations = []
def GPU(duration=60):
    durations.append(duration)
    return lambda fn: fn
'''


def test_importing_the_app_on_zerogpu_touches_no_cuda_and_leases_bursts_of_what_the_run_has_left(tmp_path):
    """ZeroGPU calls the lease's duration with the burst's own arguments: a 20 s burst asks 40 s
    (its training and the worker's start), the last 5 s of a run 25 s."""
    (tmp_path / "spaces.py").write_text(FAKE_SPACES)
    code = ("import app, spaces, torch; from gan.app.runs import app_recipe; "
            "d = spaces.durations[0]; "
            "print([d(None, None, None, None, 20.0), d(None, None, None, 5.0, 20.0)], app.PLAY.gpu_lease is not None, "
            "torch.cuda.is_initialized(), app_recipe('dcgan').compile, app_recipe('dcgan').model == {})")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{tmp_path}:{ROOT}", "SPACES_ZERO_GPU": "true",
           "GAN_MAX_RUN_SECONDS": "77", "GRADIO_ANALYTICS_ENABLED": "False", "HOME": str(tmp_path)}
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    # leases; the bursts wired; no CUDA in the main process; no compile; the full-width (GPU) recipe
    assert p.stdout.strip().splitlines()[-1] == "[40, 25] True False False True"


def test_a_visitors_run_trains_in_bursts_and_goes_on_on_the_cpu_when_zerogpu_refuses(fake_digits, tmp_path):
    from gan.app.bursts import burst
    from gan.app.handlers import Playground
    from gan.app.limits import Limits
    from gan.app.requests import TrainRequest
    leases = []

    def lease(*args):                                       # in-process: the forked worker is tested in test_bursts
        leases.append(args[3])
        if len(leases) > 2:
            raise RuntimeError("You have exceeded your GPU quota")
        return burst(*args[:4], burst_seconds=0.2)
    play = Playground(limits=Limits(1, 30, 100, 20, 2), tmp=tmp_path)
    play.__dict__["mnist"] = fake_digits
    play.gpu_lease = lease
    *_, last = play.train(TrainRequest.filled("vanilla", length_kind="steps", length=150), "z")
    run = play.session("z").runs[max(play.session("z").runs)]
    assert run.status == "finished" and run.step == 150 and len(leases) == 3 and run.cfg.device == "cpu"
    assert "GPU quota" in last[0] and "goes on on the CPU" in last[0]
    assert run.model is not None and run.history[-1]["step"] == 150      # Explore's "my run" and Compare have it


def test_every_value_the_training_stream_yields_pickles(fake_digits, tmp_path):
    from gan.app.gradio_wiring import endpoint
    from gan.app.handlers import Playground
    from gan.app.limits import Limits
    from gan.app.requests import TrainRequest
    play = Playground(limits=Limits(1, 3, 100, 20, 2), tmp=tmp_path)
    play.__dict__["mnist"] = fake_digits                  # the cached MNIST, here fake
    stream = endpoint(play.train, TrainRequest, stream=True)
    req = TrainRequest.filled("vanilla", length_kind="steps", length=30)
    frames = list(stream(*[getattr(req, f) for f in req.__dataclass_fields__], SimpleNamespace(session_hash="z")))
    assert len(frames) >= 2
    for frame in frames:
        assert pickle.loads(pickle.dumps(frame)) is not None
    assert "finished" in frames[-1][0]
