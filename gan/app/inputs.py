"""Drawings and uploaded images of any mode, size or content, decoded before the core sees them
(``decode_drawing`` -> an MNIST-like 28x28). Numbers are checked by ``gan.engine.options``."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

MIN_SIDE = 8                            # pixels: smaller pictures cannot hold a legible digit


def decode_drawing(image, max_pixels: int = 4096 * 4096) -> np.ndarray:
    """Any sketch or upload (numpy array of any mode and size, a PIL image, a file path, or a
    Sketchpad dict) -> uint8 (28, 28): white digit on black, centred in a 20x20 box like MNIST."""
    if isinstance(image, dict):                               # gr.Sketchpad / ImageEditor value
        layers = [image.get(k) for k in ("composite", "background")]
        image = next((x for x in layers if x is not None), None)
    if image is None:
        raise ValueError("draw or upload a digit first")
    if isinstance(image, (str, Path, bytes)):
        try:
            image = Image.open(image if not isinstance(image, bytes) else io.BytesIO(image))
            if image.width * image.height > max_pixels:
                raise ValueError(f"image too large ({image.width}x{image.height})")
            image.load()
        except Image.DecompressionBombError:
            raise ValueError("image too large: it decodes to over 178 million pixels") from None
        except (OSError, UnidentifiedImageError, SyntaxError):
            raise ValueError("could not read that image file") from None
    if isinstance(image, Image.Image):
        if image.width * image.height > max_pixels:
            raise ValueError(f"image too large ({image.width}x{image.height})")
        image = np.asarray(image.convert("RGBA"))
    try:
        with np.errstate(over="ignore", invalid="ignore"):    # huge values become inf, cleaned below
            arr = np.asarray(image, dtype=np.float32)
        arr = np.nan_to_num(arr, nan=0.0, posinf=255.0, neginf=0.0).clip(0, 255)
    except (TypeError, ValueError):
        raise ValueError("unsupported image data") from None
    if arr.size > max_pixels * 4:
        raise ValueError(f"image too large {arr.shape}")
    if arr.ndim == 3 and arr.shape[2] == 4 and arr[..., 3].min() < 255:   # transparent background: alpha is ink
        arr = arr[..., 3] * (1 - arr[..., :3].mean(2) / 255 * (arr[..., :3].mean(2).mean() > 127))
    elif arr.ndim == 3 and arr.shape[2] in (1, 3, 4):
        arr = arr[..., :3].mean(2)
    if arr.ndim != 2 or min(arr.shape) < 1:
        raise ValueError(f"unsupported image shape {np.shape(image)}")
    if min(arr.shape) < MIN_SIDE:
        raise ValueError(f"image too small ({arr.shape[1]}x{arr.shape[0]} pixels): a digit needs at least "
                         f"{MIN_SIDE}x{MIN_SIDE}")
    if arr.mean() > 127:                                      # dark ink on light paper -> MNIST polarity
        arr = 255 - arr
    return _center_like_mnist(arr)


def _center_like_mnist(arr: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(arr > 30)
    if len(ys) == 0:
        raise ValueError("the image is empty: draw a digit")
    crop = arr[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
    h, w = crop.shape
    scale = 20.0 / max(h, w)
    resized = Image.fromarray(crop.astype(np.float32), mode="F").resize(
        (max(1, round(w * scale)), max(1, round(h * scale))), Image.LANCZOS)
    ink = np.asarray(resized).clip(0, None)
    ink = ink * (255.0 / max(float(ink.max()), 1e-6))         # MNIST strokes peak at 255, faint pencil too
    out = np.zeros((28, 28), np.uint8)
    rh, rw = ink.shape
    out[(28 - rh) // 2:(28 - rh) // 2 + rh, (28 - rw) // 2:(28 - rw) // 2 + rw] = ink.round().astype(np.uint8)
    return out
