"""What can be proved on a CPU of the app on Hugging Face ZeroGPU: importing app.py initialises
no CUDA, the training handler's lease follows the run asked (within the cap), torch.compile is off, and every
value the training stream yields pickles (ZeroGPU runs it in a forked worker)."""
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


def test_importing_the_app_on_zerogpu_touches_no_cuda_and_leases_what_the_run_asks(tmp_path):
    """ZeroGPU calls the lease's duration with the endpoint's own arguments (the request's fields in
    order, then gr.Request): a 20 s run asks 50 s, a run in steps or an absurd length the 77 s cap + 30."""
    (tmp_path / "spaces.py").write_text(FAKE_SPACES)
    code = ("import app, spaces, torch; from gan.app.runs import app_recipe; "
            "from gan.app.requests import TrainRequest, fields_of; "
            "args = lambda **kw: [getattr(TrainRequest.filled('cgan', **kw), f) for f in fields_of(TrainRequest)]; "
            "d = spaces.durations[0]; "
            "print([d(*args(length_kind='seconds', length=20), None), d(*args(length_kind='steps', length=500), None), "
            "d(*args(length_kind='seconds', length=1e9), None), d(*args(length_kind='seconds', length='x'), None)], "
            "torch.cuda.is_initialized(), app_recipe('dcgan').compile)")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{tmp_path}:{ROOT}", "SPACES_ZERO_GPU": "true",
           "GAN_MAX_RUN_SECONDS": "77", "GRADIO_ANALYTICS_ENABLED": "False", "HOME": str(tmp_path)}
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip().splitlines()[-1] == "[50, 107, 107, 107] False False"     # no CUDA; no compile


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
