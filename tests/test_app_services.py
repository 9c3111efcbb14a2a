"""The playground's handlers as plain functions (no server)."""
import os
import re
import time

import numpy as np
import pytest
from PIL import Image

from gan.app import charts, inputs, pictures, runs
from gan.app import library as model_library
from gan.app import limits as app_limits
from gan.app.requests import InterpolateRequest
from gan.engine import options
from gan.evaluation import evaluate
from tests.conftest import tiny_config
from tests.helpers import draw


@pytest.fixture(scope="module")
def library():
    return model_library.ModelLibrary()


def test_library_lists_every_shipped_preset_default_first(library):
    names = library.names()
    assert names[0] == model_library.DEFAULT_MODEL
    assert set(names) == {"vanilla", "dcgan", "keras-dcgan", "cs231n", "one-digit", "cgan", "wgan-gp"}


def test_model_labels_are_short_and_speak_a_learners_words(library):
    for name in library.names():
        label, card = library.label(name), library.card_line(name)
        assert label.startswith(f"{name} - ") and len(label) <= 48, label
        assert re.search(r"\((excellent|good|fair|rough|poor)\)$", label), label
        assert "Short of its goal" not in card and "modes" not in card and card.startswith("Quality: **"), card
    assert "draws digit 0 (" in library.card_line("one-digit")


@pytest.mark.parametrize("m, word", [
    ({"fid_ratio": 2.0}, "excellent"), ({"fid_ratio": 2.01}, "good"), ({"fid_ratio": 5.0}, "good"),
    ({"fid_ratio": 15.0}, "fair"), ({"fid_ratio": 60.0}, "rough"), ({"fid_ratio": 60.1}, "poor"),
    ({"fid_ratio": 900.0, "digit_share": 0.97}, "excellent"), ({"fid_ratio": 1.0, "digit_share": 0.969}, "good"),
    ({"fid_ratio": 1.0, "digit_share": 0.89}, "fair"),
])
def test_quality_words_follow_the_fid_ratio_or_the_digit_share(m, word):
    assert model_library.quality_word(m) == word


def test_the_train_explanations_say_why_early_columns_look_alike():
    from gan.app import explanations
    text = " ".join(explanations.TRAIN.split())
    assert "almost the same" in text and '"no clear digits yet"' in text


def test_shipped_models_render_in_int8_only_where_measured_accurate(library):
    model, _ = library.get("keras-dcgan")
    report = library.int8_reports["keras-dcgan"]
    if report.get("reason") == "no 8-bit dot products on this device":
        pytest.skip("int8 renders need VNNI")
    assert report["layers"] and report["error_mean"] <= 1.0      # its three big convolutions, accurate
    assert (model.fast_G is not None) == report["used"]
    library.get("vanilla")
    assert library.int8_reports["vanilla"] == {"used": False, "reason": "no convolution big enough"}
    plain = model_library.ModelLibrary(int8=False)
    assert plain.get("keras-dcgan")[0].fast_G is None and plain.int8_reports == {}


def test_render_seed_slider_digit(library):
    _, ex = library.get("cgan")
    a = draw(ex, 5, 20)
    assert a.dtype == np.uint8 and a.shape == (2 * 30 + 2, 10 * 30 + 2)
    assert np.array_equal(a, draw(ex, 5, 20))
    assert not np.array_equal(a, draw(ex, 6, 20))
    moved = draw(ex, 5, 20, [2.0])
    assert not np.array_equal(a, moved)
    assert not np.array_equal(draw(ex, 5, 4, digit=3), draw(ex, 5, 4, digit=4))
    assert not np.array_equal(moved, draw(ex, 5, 20, [2.0], raw=True))


def test_directions_are_unit_vectors_sorted_by_effect(library):
    model, ex = library.get("dcgan")
    d = ex.directions()
    assert d.shape == (8, model.mcfg.z_dim)
    assert np.allclose(d.norm(dim=1).numpy(), 1.0, atol=1e-5)
    base = draw(ex, 1, 64).astype(float)
    change = [np.abs(draw(ex, 1, 64, [0] * k + [2.0]).astype(float) - base).mean() for k in range(8)]
    assert change[0] > change[-1]                     # the first direction moves the pictures more


@pytest.mark.parametrize("kw, message", [
    (dict(seed=-1), "seed"), (dict(seed=float("nan")), "seed"), (dict(seed="abc"), "seed"),
    (dict(n=0), "number of digits"), (dict(n=10**6), "number of digits"), (dict(n=2.5), "number of digits"),
    (dict(sliders=[float("inf")]), "slider 1"), (dict(sliders=[99]), "slider 1"), (dict(digit=10), "digit"),
])
def test_render_rejects_bad_values_with_a_message(library, kw, message):
    _, ex = library.get("cgan")
    args = dict(seed=1, n=4, sliders=[0.0] * 8) | kw
    with pytest.raises(ValueError, match=message):
        draw(ex, args["seed"], args["n"], args["sliders"], args.get("digit", "all"))


def test_interpolation_strip_and_gif(library, tmp_path):
    model, _ = library.get("cgan")
    strip, frames = pictures.interpolation(model, InterpolateRequest("cgan", 1, 2, 6, "3", "8").parse())
    assert strip.shape == (32, 6 * 30 + 2) and frames.shape == (6, 28, 28)
    gif = pictures.write_gif(frames, tmp_path / "a.gif")
    img = Image.open(gif)
    assert img.n_frames == 10 and img.size == (112, 112)
    with pytest.raises(ValueError, match="frames"):
        pictures.interpolation(model, InterpolateRequest("cgan", 1, 2, 1000).parse())


@pytest.mark.parametrize("make", [
    lambda: np.pad(np.full((60, 30), 255, np.uint8), 40),                        # white on black, L
    lambda: 255 - np.pad(np.full((60, 30, 3), 255, np.uint8), ((40, 40), (40, 40), (0, 0))),  # black on white RGB
    lambda: np.dstack([np.zeros((100, 100, 3), np.uint8), np.pad(np.full((60, 30), 255, np.uint8), ((20, 20), (35, 35)))]),  # alpha ink
    lambda: Image.fromarray(np.pad(np.full((8, 4), 255, np.uint8), 3)),          # tiny PIL image
    lambda: {"composite": np.pad(np.full((60, 30), 255, np.uint8), 40), "background": None, "layers": []},
    lambda: {"composite": None, "background": np.pad(np.full((60, 30), 255, np.uint8), 40), "layers": []},
])
def test_decode_drawing_any_input_gives_an_mnist_digit(make):
    out = inputs.decode_drawing(make())
    assert out.shape == (28, 28) and out.dtype == np.uint8
    ys, xs = np.nonzero(out > 30)
    assert ys.max() - ys.min() <= 20 and 8 <= ys.mean() <= 20 and 8 <= xs.mean() <= 20


@pytest.mark.parametrize("bad, message", [
    (None, "draw"), (np.zeros((50, 50)), "empty"), (b"not an image", "could not read"),
    (np.zeros((2, 2, 2, 2)), "unsupported"), ("/nonexistent.png", "could not read"),
])
def test_decode_drawing_refuses_garbage(bad, message):
    with pytest.raises(ValueError, match=message):
        inputs.decode_drawing(bad)


def test_probe_classifies_a_real_digit(mnist_test):
    seven = mnist_test.images[0].numpy()
    assert mnist_test.labels[0] == 7
    res = pictures.probe(inputs.decode_drawing(seven))
    assert res["class"] == 7 and "real_score" not in res


def test_live_run_streams_stops_and_becomes_a_model(fake_digits):
    limits = app_limits.Limits(1, 60, 100, 20, 2)
    session = runs.Session(limits)
    run, thread = runs.start_run(session, tiny_config("dcgan", steps=10**6, log_every=2, sample_every=4), fake_digits)
    t0 = time.time()
    while len(run.history) < 6 and time.time() - t0 < 30:   # step 0 (the first picture) has no losses
        time.sleep(0.02)
    assert run.status == "running" and run.grid is not None
    frame = charts.loss_frame([run])
    assert set(frame["series"]) == {"d_loss", "g_loss"} and len(frame) >= 10
    run.control.stop()
    thread.join(10)
    assert run.done.is_set() and run.status == "aborted"
    assert run.model is not None and run.explorer is not None and run.discriminator is not None
    assert draw(run.explorer, 1, 4).shape == (32, 4 * 30 + 2)
    res = pictures.probe(run.model.sample(0, 1)[0], run.discriminator)
    assert 0 <= res["real_score"] <= 1


def test_runs_per_session_cap_and_isolation(fake_digits):
    limits = app_limits.Limits(1, 60, 100, 20, 1)
    store = runs.SessionStore(limits)
    a, b = store.get("a"), store.get("b")
    run, thread = runs.start_run(a, tiny_config("vanilla", steps=10**6), fake_digits)
    with pytest.raises(ValueError, match="at most 1 run"):
        runs.start_run(a, tiny_config("vanilla", steps=5), fake_digits)
    assert b.runs == {} and b.active() is None and a.active() is run
    store.drop("a")                                   # the tab closed: its run stops
    thread.join(10)
    assert run.status == "aborted" and len(store) == 1


def test_a_failing_run_reports_instead_of_crashing(fake_digits):
    session = runs.Session(app_limits.Limits(1, 60, 100, 20, 2))
    cfg = tiny_config("one-digit", steps=5, batch_size=500, digits=(3,))      # 60 images of digit 3 < batch
    run, thread = runs.start_run(session, cfg, fake_digits)
    thread.join(10)
    assert run.status == "failed" and "batch_size" in run.message


def test_limits_from_env(monkeypatch):
    monkeypatch.setenv("GAN_MAX_CONCURRENT_RUNS", "3")
    monkeypatch.setenv("GAN_MAX_SAMPLES", "nan")
    monkeypatch.setenv("GAN_MAX_RUN_SECONDS", "-5")
    lim = app_limits.Limits.from_env()
    assert lim.max_concurrent_runs == 3 and lim.max_samples == 100 and lim.max_run_seconds == 1


def test_app_recipe_is_lighter_on_a_cpu():
    cpu, gpu = runs.app_recipe("cgan", gpu=False), runs.app_recipe("cgan", gpu=True)
    assert cpu.model == {"ngf": 32, "ndf": 32} and cpu.lr_g == cpu.lr_d == 1e-3 and (cpu.ema, cpu.batch_size) == (0.995, 64)
    assert gpu.model == {} and gpu.lr_g == 2e-4 and gpu.ema == 0.999          # the preset's own recipe
    assert runs.app_recipe("vanilla", gpu=False) == runs.app_recipe("vanilla", gpu=True)


def test_a_crowd_fits_the_slider_directions_once(library, monkeypatch):
    import threading

    from gan.inference.explore import Explorer
    ex = Explorer(library.get("dcgan")[0])
    fits, real = [], Explorer._fit_directions
    monkeypatch.setattr(Explorer, "_fit_directions", lambda self: fits.append(1) or real(self))
    threads = [threading.Thread(target=lambda: draw(ex, 1, 4, [1.0])) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(fits) == 1


def test_a_finished_run_downloads_as_a_generator_file(fake_digits, tmp_path):
    from gan.inference.sampling import load_generator
    session = runs.Session(app_limits.Limits(1, 60, 100, 20, 2))
    run, thread = runs.start_run(session, tiny_config("cgan", steps=6), fake_digits)
    thread.join(30)
    path = runs.export_run(run, tmp_path)
    assert path.name.startswith("run_1__cgan_") and runs.export_run(run, tmp_path) == path
    loaded = load_generator(path)
    assert loaded.preset == "cgan" and np.array_equal(loaded.sample(3, 10, 4), run.model.sample(3, 10, 4))


def test_a_run_frees_its_trainer_and_hands_the_pages_back_when_it_ends(fake_digits, monkeypatch):
    import weakref
    alive, calls = [], []

    class Tracked(runs.Trainer):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            alive.append(weakref.ref(self))

    monkeypatch.setattr(runs, "Trainer", Tracked)
    monkeypatch.setattr(runs, "release_free_memory", lambda: calls.append([r() is not None for r in alive]))
    session = runs.Session(app_limits.Limits(1, 60, 100, 20, 2))
    run, thread = runs.start_run(session, tiny_config("dcgan", steps=3), fake_digits)
    thread.join(30)
    assert run.status == "finished" and run.model is not None       # the sampling copy stays
    assert calls == [[False]]                                      # once, the trainer already gone


def test_free_heap_pages_go_back_to_the_system_on_glibc():
    import ctypes
    import platform

    from gan.app.memory import release_free_memory
    if not (platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"):
        assert release_free_memory() is False
        return
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]

    def rss_mb():
        return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    blocks = [libc.malloc(64 << 10) for _ in range(1600)]          # 100 MB in heap-sized blocks
    for b in blocks:
        ctypes.memset(b, 1, 64 << 10)
    for b in blocks[:-1]:                                          # the last one pins the heap's top
        libc.free(b)
    before = rss_mb()
    assert release_free_memory() is True
    assert before - rss_mb() > 50
    libc.free(blocks[-1])


def test_after_warm_up_full_collections_skip_what_start_up_built():
    import gc

    from gan.app.memory import settle_after_warm_up

    class Node:
        pass
    built = [Node() for _ in range(1000)]                           # start-up's objects
    for a, b in zip(built, built[1:]):
        a.next = b
    frozen = settle_after_warm_up()                  # (left frozen: the test process is a server too)
    assert frozen >= 1000 and gc.get_freeze_count() >= 1000
    assert not any(o is built[0] for o in gc.get_objects(generation=2))   # no longer walked
    later = Node()
    assert any(o is later for o in gc.get_objects())                    # new objects still are


def test_a_train_request_with_empty_options_gets_the_presets_recipe():
    from gan.app.requests import TrainRequest
    lim = app_limits.Limits(1, 60, 100, 20, 2)
    for preset in ("cgan", "one-digit", "wgan-gp"):
        recipe = runs.app_recipe(preset)
        cfg = TrainRequest(preset=preset, length_kind="steps", length=30).to_config(lim, recipe)
        for k in ("loss", "optimizer", "lr_g", "lr_d", "d_steps", "batch_size", "label_smoothing", "ema", "digits", "model"):
            assert getattr(cfg, k) == getattr(recipe, k), (preset, k)
        assert cfg.steps == 30 and cfg.seconds == 60                 # the server's cap bounds every run
    cfg = TrainRequest(preset="cgan", lr_g="", batch_size=64, digits=["3", 5]).to_config(lim, runs.app_recipe("cgan"))
    assert cfg.lr_g == runs.app_recipe("cgan").lr_g and cfg.batch_size == 64 and cfg.digits == (3, 5)


def test_the_final_quality_check_describes_the_finished_model(fake_digits, monkeypatch):
    checked = []
    monkeypatch.setattr(evaluate, "quick_quality", lambda model, n=500, seed=4242: checked.append(model) or
                        {"fid_ratio": 9.0, "modes": 10, "class_hist": [0.1] * 10})
    session = runs.Session(app_limits.Limits(1, 60, 100, 20, 2))
    run, thread = runs.start_run(session, tiny_config("dcgan", steps=7), fake_digits, quality_every=5)
    thread.join(30)
    assert [q["step"] for q in run.quality] == [5, 7] and run.status == "finished"


def test_paused_runs_say_so():
    run = runs.Run(name="r", cfg=tiny_config("dcgan"), status="running")
    assert "- running." in charts.status_line(run)
    run.control.pause()
    assert "- paused." in charts.status_line(run) and "ETA" not in charts.status_line(run)


def test_charts_get_typed_frames_and_never_an_empty_one():
    """Gradio's charts read a column's type from the frames they get: data frames are typed, and
    a run never sends an empty frame (an empty update made the histogram's shares categories)."""
    full = charts.class_histogram({"class_hist": [0.1] * 10})
    assert str(full.dtypes["share"]) == "float64" and list(full["digit"]) == [str(d) for d in range(10)]
    run = runs.Run(name="r", cfg=tiny_config("dcgan"), status="running")
    session = runs.Session(app_limits.Limits(1, 60, 100, 20, 2))
    session.runs["r"] = run
    out = dict(zip(charts.TRAIN_OUTPUTS, charts.train_outputs(run, session)))
    assert all(out[k] is charts.KEEP for k in ("loss_plot", "d_plot", "gn_plot", "hist"))
    assert out["compare"] == {"visible": False}                    # hidden first: shown again, it is rebuilt
    run.history.append({"step": 5, "d_loss": 1.2, "g_loss": 0.7, "d_real": 0.6, "d_fake": 0.4,
                        "grad_norm_d": 3.0, "grad_norm_g": 1.0})
    run.quality.append({"step": 5, "fid_ratio": 50.0, "modes": 9, "class_hist": [0.1] * 10})
    out = dict(zip(charts.TRAIN_OUTPUTS, charts.train_outputs(run, session, final=True)))
    assert str(out["loss_plot"].dtypes["value"]) == "float64" and len(out["loss_plot"]) == 2
    assert str(out["hist"].dtypes["share"]) == "float64"


def test_the_server_bounds_malloc_arenas_on_glibc(monkeypatch):
    import platform

    from gan.app.memory import limit_malloc_arenas
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert limit_malloc_arenas() == (platform.system() == "Linux" and platform.libc_ver()[0] == "glibc")
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas() is False                  # the environment's own setting wins


def test_number_checks_accept_their_bounds_and_nothing_past_them():
    assert options.check_float("x", 0, 0, 0.5) == 0.0 and options.check_float("x", 0.5, 0, 0.5) == 0.5
    assert options.check_int("n", 1, 1, 100) == 1 and options.check_int("n", 100, 1, 100) == 100
    for bad in (-1e-9, 0.5 + 1e-9):
        with pytest.raises(ValueError, match=r"x must be in \[0, 0.5\]"):
            options.check_float("x", bad, 0, 0.5)
    for bad in (0, 101):
        with pytest.raises(ValueError, match=r"n must be a whole number in \[1, 100\]"):
            options.check_int("n", bad, 1, 100)
    assert options.check_int("digit", "7", 0, 9) == 7          # a dropdown's string
    for bad in (True, [3], {"a": 1}, None):
        with pytest.raises(ValueError, match="must be a number"):
            options.check_int("digit", bad, 0, 9)


def test_a_drawing_is_cropped_to_its_ink_scaled_to_20_pixels_and_centred():
    """MNIST's recipe: the ink's bounding box scaled to fit 20 x 20, centred in 28 x 28; faint
    pixels (30 of 255 or less: paper, a smudge) are not ink."""
    sheet = np.zeros((200, 300), np.uint8)
    sheet[50:150, 100:150] = 255                              # a 100 x 50 stroke
    sheet[190, 290] = 30                                      # a smudge far away: not ink
    out = inputs.decode_drawing(sheet)
    solid = np.zeros((28, 28), bool)
    solid[4:24, 9:19] = True                                  # 20 rows x 10 columns (aspect kept), centred
    assert np.array_equal(out > 127, solid)                   # and nothing else lit (no wrapped-around ringing)
    assert out.max() == 255
    sheet[190, 290] = 31                                      # a pixel just past the threshold is ink
    assert not np.array_equal(inputs.decode_drawing(sheet), out)


def test_a_drawing_arrives_as_an_array_a_pil_image_a_path_or_bytes_alike(tmp_path):
    import io
    ink = np.pad(np.full((60, 30), 255, np.uint8), 40)
    want = inputs.decode_drawing(ink)
    Image.fromarray(ink).save(tmp_path / "d.png")
    buf = io.BytesIO()
    Image.fromarray(ink).save(buf, format="PNG")
    for given in (Image.fromarray(ink), str(tmp_path / "d.png"), tmp_path / "d.png", buf.getvalue()):
        assert np.array_equal(inputs.decode_drawing(given), want), type(given)


def test_drawing_refusals_say_exactly_what_is_wrong(tmp_path):
    big = np.zeros((100, 100), np.uint8)
    big[40:60, 45:55] = 255
    Image.fromarray(big).save(tmp_path / "big.png")
    for given in (str(tmp_path / "big.png"), Image.fromarray(big)):
        with pytest.raises(ValueError, match=r"^image too large \(100x100\)$"):
            inputs.decode_drawing(given, max_pixels=99 * 100)
    assert inputs.decode_drawing(str(tmp_path / "big.png"), max_pixels=100 * 100).shape == (28, 28)
    with pytest.raises(ValueError, match=r"^draw or upload a digit first$"):
        inputs.decode_drawing({"composite": None, "background": None})
    with pytest.raises(ValueError, match=r"^could not read that image file$"):
        inputs.decode_drawing(b"GIF89a broken")
    with pytest.raises(ValueError, match=r"^the image is empty: draw a digit$"):
        inputs.decode_drawing(np.zeros((40, 40), np.uint8))


def test_a_decompression_bomb_is_refused_before_it_is_decoded(tmp_path):
    Image.new("1", (30_000, 30_000)).save(tmp_path / "bomb.png")      # 900 M pixels in ~100 kB
    with pytest.raises(ValueError, match=r"^image too large: it decodes to over 178 million pixels$"):
        inputs.decode_drawing(str(tmp_path / "bomb.png"))


def test_ink_on_a_transparent_sheet_is_read_from_its_alpha_and_darkness():
    stroke = np.zeros((100, 100), bool)
    stroke[20:80, 45:55] = True
    plain = inputs.decode_drawing(np.where(stroke, 255, 0).astype(np.uint8))

    def sheet(rgb_bg, rgb_ink):
        a = np.zeros((100, 100, 4), np.uint8)
        a[..., :3] = rgb_bg                       # alpha 0: the paper is transparent
        a[stroke] = (*rgb_ink, 255)
        return a

    assert np.array_equal(inputs.decode_drawing(sheet(0, (255, 255, 255))), plain)     # alpha alone is ink
    assert np.array_equal(inputs.decode_drawing(sheet(255, (20, 20, 20))), plain)      # dark ink, light sheet
    with pytest.raises(ValueError, match="empty"):
        inputs.decode_drawing(sheet(255, (255, 255, 255)))                          # white on white: no ink


def test_odd_but_valid_shapes_and_the_size_cap():
    ink = np.pad(np.full((60, 30), 255, np.uint8), 40)
    assert np.array_equal(inputs.decode_drawing(ink[..., None]), inputs.decode_drawing(ink))   # (H, W, 1)
    line = np.zeros((1, 40), np.uint8)
    line[0, 5:15] = 255
    assert inputs.decode_drawing(line).max() == 255                                          # a one-pixel-high line
    inputs.decode_drawing(np.pad(np.full((10, 10), 255, np.uint8), 5), max_pixels=100)      # 400 = 4 x 100 values
    with pytest.raises(ValueError, match=r"^image too large \(21, 21\)$"):
        inputs.decode_drawing(np.full((21, 21), 255, np.uint8), max_pixels=100)
    with pytest.raises(ValueError, match="^unsupported image data$"):
        inputs.decode_drawing(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match=r"^unsupported image shape \(2, 2, 2, 2\)$"):
        inputs.decode_drawing(np.ones((2, 2, 2, 2)))


def test_dark_ink_on_light_paper_is_turned_to_mnist_polarity():
    paper = np.full((40, 40), 255, np.uint8)
    paper[:20, :30], paper[20:, :10] = 1, 1           # half dark (an L), mean exactly 128: light wins
    a = inputs.decode_drawing(paper)
    b = inputs.decode_drawing(255 - paper)            # the same picture in MNIST polarity
    assert np.array_equal(a, b)


def test_the_histogram_starts_as_ten_typed_zero_bars():
    """An empty first frame made the browser read the shares as categories for good."""
    empty = charts.class_histogram(None)
    assert list(empty["share"]) == [0.0] * 10 and str(empty.dtypes["share"]) == "float64"


def _run_with(names_and_losses):
    session = runs.Session(app_limits.Limits(1, 60, 100, 20, 4))
    for name, losses in names_and_losses:
        r = runs.Run(name=name, cfg=tiny_config("dcgan"), status="finished")
        r.history = [{"step": i + 1, "g_loss": v} for i, v in enumerate(losses)]
        session.runs[name] = r
    return session, r


def test_compare_hides_then_shows_every_run_as_its_own_line():
    session, last = _run_with([("run 1 (vanilla)", [1.0, 2.0]), ("run 2 (vanilla)", [3.0, 4.0, 5.0])])
    sent = {}
    first = charts.compare_update(list(session.runs.values()), sent, final=False)
    second = charts.compare_update(list(session.runs.values()), sent, final=False)
    assert first == {"visible": False} and second["visible"] is True
    frame = second["value"]
    assert {s: list(frame[frame["series"] == s]["value"]) for s in frame["series"].unique()} == {
        "run 1 (vanilla)": [1.0, 2.0], "run 2 (vanilla)": [3.0, 4.0, 5.0]}
    final = charts.compare_update(list(session.runs.values()), {}, final=True)   # a last frame always shows the data
    assert final["visible"] is True and len(final["value"]) == 5


@pytest.mark.parametrize("q, says", [
    ({"modes": 1, "crisp": 0.99}, "mode collapse"),
    ({"modes": 7, "crisp": 0.85}, "mode collapse"),                  # at the threshold: digits
    ({"modes": 8, "crisp": 0.95}, "8 of 10 digits present"),
    ({"modes": 1, "crisp": 0.849}, "no clear digits yet"),          # grey fog the classifier reads as an 8
])
def test_the_quality_line_tells_no_digits_yet_from_collapse(q, says):
    line = charts.quality_line({"step": 50, "fid_ratio": 100.0, "class_hist": [0.1] * 10} | q)
    assert says in line
    assert ("mode collapse" in line) == (says == "mode collapse")


def test_the_status_line_says_each_thing_once():
    run = runs.Run(name="run 1 (cgan)", cfg=tiny_config("dcgan", steps=None, seconds=120), status="running",
                   images_per_sec=812.0, step=40, total=None, elapsed=3.0)
    assert "812 images/s" in charts.status_line(run)
    run.control.pause()
    assert "images/s" not in charts.status_line(run) and "- paused." in charts.status_line(run)
    run.control.resume()
    run.status, run.message, run.total, run.step = "finished", "finished at step 205", 205, 205
    run.done.set()
    line = charts.status_line(run, final=True)
    assert line.count("205") == 2 and "finished at step" not in line and "images/s" not in line   # "Step 205/205"
    run.step = 150                                                       # the server's cap ended it early
    assert "reached the server's 120 s limit before step 205" in charts.status_line(run, final=True)


def test_a_length_past_the_servers_cap_is_said_not_silently_cut():
    from gan.app.handlers import length_note
    from gan.app.requests import TrainRequest
    lim = app_limits.Limits(1, 120, 100, 20, 2)
    long = TrainRequest(preset="cgan", length_kind="seconds", length=500)
    cfg = long.to_config(lim, runs.app_recipe("cgan"))
    assert cfg.seconds == 120 and "stops runs after 120 s" in length_note(long, cfg, False) and "500" in length_note(long, cfg, False)
    ok = TrainRequest(preset="cgan", length_kind="seconds", length=120)
    assert length_note(ok, ok.to_config(lim, runs.app_recipe("cgan")), False) == ""
    assert "full width" in length_note(ok, ok.to_config(lim, runs.app_recipe("cgan")), True)


@pytest.mark.parametrize("preset", ["cgan", "dcgan", "wgan-gp"])
def test_a_pretrained_start_trains_the_shipped_full_width_generator(preset, fake_digits, library, tmp_path):
    """The app's CPU recipe builds half-width networks; a pretrained start takes the shipped
    file's architecture instead of failing with a size mismatch."""
    from gan.app.handlers import Playground
    from gan.app.requests import TrainRequest
    play = Playground(limits=app_limits.Limits(1, 60, 100, 20, 2), library=library, tmp=tmp_path)
    play.mnist = fake_digits
    req = TrainRequest.filled(preset, length_kind="steps", length=2, init="pretrained", batch_size=16)
    *_, last = play.train(req, "visitor")
    run = next(iter(play.session("visitor").runs.values()))
    assert run.status == "finished", run.message
    assert run.model.mcfg == library.get(preset)[0].mcfg and "full width" in last[0]


def test_without_mnist_a_visitor_gets_a_plain_sentence_and_the_log_the_details(library, tmp_path, caplog,
                                                                              monkeypatch):
    from gan.app.handlers import Playground
    from gan.app.requests import TrainRequest
    from gan.engine.data import MNISTNotFound
    play = Playground(limits=app_limits.Limits(1, 60, 100, 20, 2), library=library, tmp=tmp_path)

    def missing(self):
        raise MNISTNotFound("MNIST train split not found. Tried: /srv/secret/data (...). Fix: pass --data DIR")
    monkeypatch.setattr(Playground, "mnist", property(missing))
    with pytest.raises(ValueError) as e, caplog.at_level("WARNING", logger="gan.app"):
        next(play.train(TrainRequest.filled("cgan", length_kind="steps", length=2), "visitor"))
    assert "cannot find the MNIST digits" in str(e.value) and "/srv" not in str(e.value) and "--data" not in str(e.value)
    assert "/srv/secret/data" in caplog.text
