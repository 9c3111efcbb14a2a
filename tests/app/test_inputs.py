"""Tests of gan/app/inputs.py."""
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from gan.app import inputs
from gan.app.inputs import decode_drawing

# derandomize: CI explores the same examples every run (a red CI means a regression, not luck);
# run with --hypothesis-seed=random locally to search further.
FAST = settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def _check_digit(out):
    assert out.dtype == np.uint8 and out.shape == (28, 28) and out.max() == 255   # ink normalised like MNIST


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
    (np.full((7, 40), 255, np.uint8), r"too small \(40x7 pixels\)"),
])
def test_decode_drawing_refuses_garbage(bad, message):
    with pytest.raises(ValueError, match=message):
        inputs.decode_drawing(bad)


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
    for picture in (Image.fromarray(ink), str(tmp_path / "d.png"), tmp_path / "d.png", buf.getvalue()):
        assert np.array_equal(inputs.decode_drawing(picture), want), type(picture)


def test_drawing_refusals_say_exactly_what_is_wrong(tmp_path):
    big = np.zeros((100, 100), np.uint8)
    big[40:60, 45:55] = 255
    Image.fromarray(big).save(tmp_path / "big.png")
    for picture in (str(tmp_path / "big.png"), Image.fromarray(big)):
        with pytest.raises(ValueError, match=r"^image too large \(100x100\)$"):
            inputs.decode_drawing(picture, max_pixels=99 * 100)
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
    line = np.zeros((8, 40), np.uint8)
    line[3, 5:15] = 255
    assert inputs.decode_drawing(line).max() == 255                       # one pixel of ink high, the smallest sheet
    with pytest.raises(ValueError, match=r"too small \(40x1 pixels\)"):
        inputs.decode_drawing(line[3:4])                                  # a one-pixel-high picture: no room for a digit
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


@FAST
@given(arr=arrays(st.sampled_from([np.uint8, np.float32, np.float64, np.int16, np.bool_]),
                  st.one_of(st.tuples(st.integers(1, 64), st.integers(1, 64)),
                            st.tuples(st.integers(1, 64), st.integers(1, 64), st.sampled_from([1, 2, 3, 4, 5])))))
def test_decode_drawing_any_array(arr):
    try:
        out = decode_drawing(arr)
    except ValueError as e:
        assert str(e)
        return
    _check_digit(out)


@FAST
@given(data=st.binary(max_size=2048))
def test_decode_drawing_garbage_bytes(data):
    with pytest.raises(ValueError):
        decode_drawing(data)


@FAST
@given(mode=st.sampled_from(["1", "L", "LA", "P", "RGB", "RGBA", "I;16", "F", "CMYK"]), w=st.integers(1, 300),
       h=st.integers(1, 300), fmt=st.sampled_from(["PNG", "GIF", "BMP", "TIFF", "WEBP"]), seed=st.integers(0, 99))
def test_decode_drawing_image_files_of_any_mode_size_and_format(mode, w, h, fmt, seed):
    from PIL import Image
    rng = np.random.default_rng(seed)
    img = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).convert(mode)
    buf = io.BytesIO()
    try:
        img.save(buf, format=fmt)
    except (OSError, ValueError, KeyError):
        return                                          # this format cannot hold this mode: nothing to decode
    for source in (buf.getvalue(), img):
        try:
            out = decode_drawing(source)
        except ValueError as e:
            assert str(e)
            continue
        _check_digit(out)
