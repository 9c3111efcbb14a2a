"""The live app under hostile input, uploads, two visitors at once, a full queue and a closed tab."""
import json
import pickle
import re
import time

import httpx
import numpy as np
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from gan.app.charts import TRAIN_OUTPUTS
from gan.app.requests import ControlRequest, ProbeRequest, TrainRequest, api_call, render_args
from tests.helpers import ROOT, new_client, release

SLIDERS = [0.0] * 8
NAN, INF = float("nan"), float("inf")


def _serving(client) -> bool:
    return client.predict(**render_args("cgan", 1, 4, "all", False, *SLIDERS), api_name="/render") is not None


TRAIN_OK = dict(preset="dcgan", length_kind="steps", length=20, loss="non-saturating", optimizer="adam", lr_g=2e-4,
                lr_d=2e-4, d_steps=1, batch_size=32, label_smoothing=0.0, instance_noise=0.0, digits=[], ema=0.0, seed=0, init="scratch")


def _train(**bad) -> dict:
    """Keyword arguments of one /train call, by TrainRequest's field names."""
    return api_call(TrainRequest(**(TRAIN_OK | bad)))


def _train_args(**bad) -> list:
    """The same call as the HTTP API's positional data list (in TrainRequest's field order)."""
    return list(_train(**bad).values())


def _raw_call(url: str, api: str, data: list) -> tuple[str, str]:
    """POST through Gradio's HTTP API as any script could, NaN and Infinity included
    (gradio_client refuses to send those), and return (event, payload) of the outcome."""
    body = json.dumps({"data": data})                              # allow_nan: NaN / Infinity tokens
    r = httpx.post(f"{url}gradio_api/call/{api}", content=body, headers={"content-type": "application/json"})
    if r.status_code != 200:
        return "rejected", r.text
    with httpx.stream("GET", f"{url}gradio_api/call/{api}/{r.json()['event_id']}", timeout=60) as s:
        lines = list(s.iter_lines())
    events = [ln[len("event: "):] for ln in lines if ln.startswith("event: ")]
    payloads = [ln[len("data: "):] for ln in lines if ln.startswith("data: ")]
    return events[-1], payloads[-1]


@pytest.mark.parametrize("api, args, message", [
    ("render", ["cgan", NAN, 4, "all", False, False, *SLIDERS], "seed must be a whole number"),
    ("render", ["cgan", INF, 4, "all", False, False, *SLIDERS], "seed must be a whole number"),
    ("render", ["cgan", 2**40, 4, "all", False, False, *SLIDERS], "seed must be a whole number"),
    ("render", ["cgan", 1.5, 4, "all", False, False, *SLIDERS], "seed must be a whole number"),
    ("render", ["cgan", 1, INF, "all", False, False, *SLIDERS], r"n \(number of digits\) must be"),
    ("render", ["cgan", 1, -4, "all", False, False, *SLIDERS], r"n \(number of digits\) must be"),
    ("render", ["cgan", 1, 4, "all", False, False, NAN, *SLIDERS[1:]], r"s1 \(slider 1\) must be in"),
    ("render", ["cgan", 1, 4, "all", False, False, *SLIDERS[:7], 1e300], r"s8 \(slider 8\) must be in"),
    ("render", ["cgan", 1, 4, "eleven", False, False, *SLIDERS], "digit must be a number"),
    ("render", ["../../etc/passwd", 1, 4, "all", False, False, *SLIDERS], "unknown model"),
    ("render", ["my run 9 (dcgan)", 1, 4, "all", False, False, *SLIDERS], "not available"),
    ("interpolate", ["cgan", 1, 2, 10**6, "3", "8", False], "frames must be"),
    ("interpolate", ["cgan", -1, 2, 5, "3", "8", False], "seed_a"),
    ("interpolate", ["cgan", 1, NAN, 5, "3", "8", False], "seed_b"),
    ("train", _train_args(lr_g=NAN), r"lr_g \(G learning rate\)"),
    ("train", _train_args(lr_d=-1), r"lr_d \(D learning rate\)"),
    ("train", _train_args(lr_g=INF), "lr_g"),
    ("train", _train_args(batch_size=10**9), "batch_size .Batch size. must be"),
    ("train", _train_args(length=-5), "length must be"),
    ("train", _train_args(length=1e30), "length must be"),
    ("train", _train_args(length_kind="years"), "length_kind"),
    ("train", _train_args(preset="stylegan9"), "unknown preset"),
    ("train", _train_args(loss="rm -rf"), r"loss \(Loss\) must be one of"),
    ("train", _train_args(optimizer="sgd"), r"optimizer \(Optimizer\) must be one of"),
    ("train", _train_args(ema=2), "ema"),
    ("train", _train_args(seed=-1), "seed must be"),
    ("train", _train_args(label_smoothing=0.9), "label_smoothing"),
    ("train", _train_args(d_steps=0), "d_steps"),
    ("train", _train_args(digits=[3, 3, 11]), r"digits \(Train on digits\) must be"),
    ("train", _train_args(init="someone else's run"), "init"),
    ("control_lr", [NAN, 2e-4], "lr_g"),
])
def test_hostile_values_are_refused_with_a_message(server, client, api, args, message):
    event, payload = _raw_call(server[1], api, args)
    assert event == "error" and re.search(message, payload), payload
    assert _serving(client)


WRONG_TYPES = ([1, 2], {"a": 1}, "abc", True, 1e300)
# values some parameters legitimately take: a checkbox's True, a digit list, an empty editor
VALID_HERE = {("raw", True), ("picked", True), ("digits", "[1, 2]"), ("sketch", "{'a': 1}")}


def _valid_call(api: str, tmp_path) -> dict:
    from gan.app.requests import InterpolateRequest
    return {"render": render_args("cgan", 1, 4, "all", False, *SLIDERS), "train": _train(length=1),
            "interpolate": api_call(InterpolateRequest()), "model_info": {"model": "cgan"}, "options": {"preset": "cgan"},
            "probe": api_call(ProbeRequest("cgan", upload=_png(tmp_path / "seven.png", _seven()))),
            "find_digit": api_call(ProbeRequest("cgan", upload=_png(tmp_path / "seven.png", _seven()))) | {"raw": False},
            "upload_weights": {"path": handle_file(str(ROOT / "weights" / "cgan.safetensors"))},
            }.get(api, {})


def _seven() -> np.ndarray:
    a = np.zeros((28, 28), np.uint8)
    a[6, 8:20], a[6:22, 19] = 255, 255
    return a


@pytest.mark.slow
def test_every_endpoint_refuses_every_wrong_type_by_name(server, tmp_path):
    """Every public endpoint, every parameter, every wrong JSON type a script can send: refused
    with a message that names the parameter (never Gradio's anonymous error), server still up."""
    from concurrent.futures import ThreadPoolExecutor
    clients = [new_client(server) for _ in range(4)]
    try:
        endpoints = clients[0].view_api(return_format="dict", print_info=False)["named_endpoints"]
        calls = []
        for api, spec in endpoints.items():
            names = [p["parameter_name"] for p in spec["parameters"]]
            base = {n: v for n, v in _valid_call(api.strip("/"), tmp_path).items() if n in names}
            base |= {n: {"name": "mode-collapse", "preset": "cgan"}.get(n, None) for n in names if n not in base}
            calls += [(api, name, base | {name: bad}) for name in names for bad in WRONG_TYPES
                      if (name, bad if isinstance(bad, bool) else str(bad)) not in VALID_HERE]

        def outcome(client, api, name, kwargs):
            try:
                client.predict(**kwargs, api_name=api)
                return f"{api} {name}={kwargs[name]!r}: accepted"
            except AppError as e:
                return None if re.search(rf"\b{name}\b", str(e)) else f"{api} {name}={kwargs[name]!r}: {str(e)[:120]}"

        def one_visitor(i):
            # a client at a time per thread, as a visitor's page calls: gradio_client's reader of a
            # session's event stream can close under a call submitted from a second thread
            return [outcome(clients[i], *call) for call in calls[i::len(clients)]]

        with ThreadPoolExecutor(len(clients)) as pool:
            unclear = [u for share in pool.map(one_visitor, range(len(clients))) for u in share if u]
        assert len(calls) > 200 and not unclear, "\n".join(unclear)
        assert _serving(clients[0])
    finally:
        release(*clients)


def _png(path, array):
    Image.fromarray(array).save(path)
    return handle_file(str(path))


def test_renders_skip_the_queue_as_the_page_sends_them(server):
    """The page posts slider renders straight to /run/render (no queue round trips); that route
    answers the picture, and refuses a bad value by name like the queued API."""
    from gan.tools.crowd import PageRenders
    page = PageRenders(server[1])
    try:
        out = page.predict(**render_args("cgan", 1, 4, "all", False, *SLIDERS))
        assert out[0]["url"].endswith(".png") or out[0]["path"].endswith(".png")
        with pytest.raises(RuntimeError, match=r"\bseed\b"):
            page.predict(**render_args("cgan", "nan", 4, "all", False, *SLIDERS))
    finally:
        page.close()
    config = server[0].demo.config
    render_events = [d for d in config["dependencies"] if d.get("api_name") == "render"]
    assert render_events and not render_events[0]["queue"]


def test_probe_survives_any_upload(client, tmp_path):
    (tmp_path / "garbage.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    with pytest.raises(AppError, match="could not read"):
        client.predict(**api_call(ProbeRequest("cgan", upload=handle_file(str(tmp_path / "garbage.png")))), api_name="/probe")
    bomb = Image.new("1", (30_000, 30_000))           # 900 M pixels, ~100 kB on disk
    bomb.save(tmp_path / "bomb.png")
    with pytest.raises(AppError, match="too large|could not read"):
        client.predict(**api_call(ProbeRequest("cgan", upload=handle_file(str(tmp_path / "bomb.png")))), api_name="/probe")
    with pytest.raises(AppError, match="empty"):
        client.predict(**api_call(ProbeRequest("cgan", upload=_png(tmp_path / "blank.png", np.zeros((50, 80, 3), np.uint8)))), api_name="/probe")
    with pytest.raises(AppError, match="draw or upload"):
        client.predict(**api_call(ProbeRequest("cgan", upload=None)), api_name="/probe")
    rgba = np.zeros((300, 200, 4), np.uint8)
    rgba[100:200, 90:110] = (20, 20, 20, 255)             # a dark "1" on a transparent sheet
    _, label, _ = client.predict(**api_call(ProbeRequest("cgan", upload=_png(tmp_path / "one.png", rgba))), api_name="/probe")
    assert label["label"] == "1"
    assert _serving(client)


class _Payload:
    def __reduce__(self):
        return (exec, ("open('PWNED-by-upload', 'w').write('x')",))


def test_uploaded_weights_hostile_and_valid(server, client, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    evil = tmp_path / "evil.safetensors"
    evil.write_bytes(pickle.dumps({"G": _Payload()}, protocol=2))
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes((ROOT / "weights/one-digit.safetensors").read_bytes()[:50_000])
    for path, message in ((evil, "pickle"), (cut, "not a valid safetensors"),
                          (ROOT / "weights/dcgan.safetensors", "over the 1 MB limit"),
                          (ROOT / "weights/mnist_classifier.safetensors", "over the|not one of this playground")):
        with pytest.raises(AppError, match=message):
            client.predict(path=handle_file(str(path)), api_name="/upload_weights")
    assert not (tmp_path / "PWNED-by-upload").exists() and not (ROOT / "PWNED-by-upload").exists()

    mine = tmp_path / "my-zeros.safetensors"                 # a valid file for another preset than its name says
    mine.write_bytes((ROOT / "weights/one-digit.safetensors").read_bytes())
    choice, note = client.predict(path=handle_file(str(mine)), api_name="/upload_weights")
    key = "upload: my-zeros (one-digit)"
    assert "my-zeros (one-digit)" in note
    mine_img = client.predict(**render_args(key, 5, 9, "all", False, *SLIDERS), api_name="/render")
    shipped = client.predict(**render_args("one-digit", 5, 9, "all", False, *SLIDERS), api_name="/render")
    assert np.array_equal(np.asarray(Image.open(mine_img)), np.asarray(Image.open(shipped)))
    other = new_client(server)                               # another visitor cannot see it
    with pytest.raises(AppError, match="not loaded|not in the list of choices"):
        other.predict(**render_args(key, 5, 9, "all", False, *SLIDERS), api_name="/render")
    release(other)


def _final(job, timeout=90):
    t0 = time.time()
    while not job.done() and time.time() - t0 < timeout:
        time.sleep(0.2)
    return job.outputs()[-1]


def test_two_visitors_training_at_once_never_see_each_other(server):
    a, b = new_client(server), new_client(server)
    ja = a.submit(**_train(length=30, seed=1), api_name="/train")
    jb = b.submit(**_train(length=60, seed=2, preset="vanilla"), api_name="/train")
    oa, ob = _final(ja), _final(jb)
    assert "Step 30/30" in oa[0] and "Step 60/60" in ob[0]
    compare, model = TRAIN_OUTPUTS.index("compare"), len(TRAIN_OUTPUTS)   # the outputs, then the Model dropdown
    steps_a = {row[0] for row in oa[compare]["value"]["data"]}      # the compare plot: this visitor's runs only
    steps_b = {row[0] for row in ob[compare]["value"]["data"]}
    assert max(steps_a) == 30 and max(steps_b) == 60
    choices_a = [c[1] for c in oa[model]["choices"]]
    choices_b = [c[1] for c in ob[model]["choices"]]
    assert [c for c in choices_a if c.startswith("my ")] == ["my run 1 (dcgan)"]
    assert [c for c in choices_b if c.startswith("my ")] == ["my run 1 (vanilla)"]
    img_a = a.predict(**render_args("my run 1 (dcgan)", 3, 4, "all", False, *SLIDERS), api_name="/render")
    with pytest.raises(AppError, match="not available|not in the list of choices"):   # b's run 1 is a vanilla run
        b.predict(**render_args("my run 1 (dcgan)", 3, 4, "all", False, *SLIDERS), api_name="/render")
    assert img_a
    release(a, b)


def test_a_full_training_queue_shows_the_waiting_visitor_its_position(server):
    from gradio_client.utils import Status
    clients = [new_client(server) for _ in range(3)]
    jobs = [c.submit(**_train(length_kind="seconds", length=20, preset="vanilla"), api_name="/train")
            for c in clients[:2]]
    time.sleep(1.5)
    waiting = clients[2].submit(*_train_args(length=10, preset="vanilla"), api_name="/train")
    seen = None
    t0 = time.time()
    while time.time() - t0 < 60 and seen is None:
        st = waiting.status()
        if st.code == Status.IN_QUEUE and st.rank is not None:
            seen = st
        time.sleep(0.1)
    assert seen is not None and seen.rank == 0 and seen.queue_size >= 1
    for c in clients[:2]:
        c.predict(**api_call(ControlRequest(2e-4, 2e-4)), api_name="/control_stop")             # slots free up: the waiting run goes ahead
    assert "Step 10/10" in _final(waiting)[0]
    for j in jobs:
        assert "aborted" in _final(j)[0]
    release(*clients)


def test_visitor_mistakes_are_one_log_line_not_a_traceback(client, capfd, tmp_path):
    from gradio_client import handle_file
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not weights at all")
    capfd.readouterr()
    calls = [lambda: client.predict(**api_call(ControlRequest(2e-4, 2e-4)), api_name="/control_pause"),  # no run going
             lambda: client.predict(**_train(length=-5), api_name="/train"),                           # a bound
             lambda: client.predict(**_train(lr_g="fast"), api_name="/train"),                         # a wrong type
             lambda: client.predict(path=handle_file(str(bad)), api_name="/upload_weights")]
    for call in calls:
        with pytest.raises(AppError):
            call()
    err = capfd.readouterr().err
    assert "Traceback" not in err, err[-2000:]


def test_a_real_fault_still_prints_its_traceback(capsys):
    from gan.app.gradio_wiring import _OneLineForVisitorErrors
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        _OneLineForVisitorErrors.print_exc()
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: a bug" in err
