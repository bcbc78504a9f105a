"""A picture of the user's own (any size, PNG or JPEG, grey, colour or transparent, dark ink on
light paper or light on dark) prepared as the data set's images were made. Pure NumPy + Pillow.

MNIST's digits (LeCun et al.): the ink cropped, scaled to fit a 20x20 box keeping its aspect
ratio (anti-aliased, so grey edges), then placed in the 28x28 field so that its centre of mass
is at the centre. A data set's Spec.ink_box says the box (Fashion-MNIST's items fill 28x28); a
data set without one (lines) has its whole picture resized to the image size.

    prepare(path, spec) -> (H W,) float32 in [0, 1], light ink on black, as the data sets
"""
from pathlib import Path

import numpy as np

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
INK = 0.3          # a pixel this far from the paper towards the darkest ink is ink


class PictureError(Exception):
    """A picture that cannot be read or holds no ink; the message names the file."""


def pictures(paths):
    """The image files among `paths`, a folder standing for the image files in it, by name."""
    out = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in EXTENSIONS)
            if not found:
                raise PictureError(f"{path}: a folder with no images ({', '.join(EXTENSIONS)})")
            out += found
        elif path.is_file():
            out.append(path)
        else:
            raise PictureError(f"{path}: no such file or folder")
    return out


def read_grey(path):
    """The picture as (h, w) float32 in [0, 1] (0 black); transparency laid on the paper."""
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
                rgba = np.asarray(img.convert("RGBA"), np.float32) / 255
                grey, alpha = rgba[..., :3] @ np.float32([0.299, 0.587, 0.114]), rgba[..., 3]
                drawn = grey[alpha > 0.5]
                # strokes on a transparent sheet: the paper is the opposite of the strokes
                paper = 1.0 if drawn.size == 0 or np.median(drawn) < 0.5 else 0.0
                return alpha * grey + (1 - alpha) * paper
            return np.asarray(img.convert("L"), np.float32) / 255
    except (OSError, UnidentifiedImageError, ValueError) as e:
        raise PictureError(f"{path}: not a readable image ({e})")


def ink_of(grey, path):
    """(h, w) grey -> (h, w) ink in [0, 1]: 0 the paper (the median of the border, whether
    light or dark), 1 the strongest ink."""
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    paper = float(np.median(border))
    ink = paper - grey if paper > 0.5 else grey - paper         # dark on light, or light on dark
    strongest = float(ink.max())
    if strongest < 0.1:
        raise PictureError(f"{path}: no ink found (the picture is one shade)")
    return np.clip(ink / strongest, 0, 1)


def prepare(path, spec):
    """The picture at `path` as one of spec's images: (H W,) float32 in [0, 1]."""
    ink = ink_of(read_grey(path), path)
    H, W = spec.image_shape
    if not spec.ink_box:
        return resized(ink, (W, H)).reshape(-1)
    rows, cols = np.nonzero(ink > INK)
    ink = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]       # crop to the ink
    h, w = ink.shape
    scale = spec.ink_box / max(h, w)
    box = resized(ink, (max(1, round(w * scale)), max(1, round(h * scale))))
    out = np.zeros((H, W), np.float32)
    # the box's centre of mass onto the field's centre ((H - 1) / 2 in pixel indices)
    mass = box.sum()
    cy = (box.sum(axis=1) * np.arange(box.shape[0])).sum() / mass
    cx = (box.sum(axis=0) * np.arange(box.shape[1])).sum() / mass
    top = int(np.clip(round((H - 1) / 2 - cy), 0, H - box.shape[0]))
    left = int(np.clip(round((W - 1) / 2 - cx), 0, W - box.shape[1]))
    out[top:top + box.shape[0], left:left + box.shape[1]] = box
    return out.reshape(-1)


def resized(a, size):
    """(h, w) float image -> size (w', h') by Pillow's Lanczos filter (anti-aliased), in [0, 1]."""
    from PIL import Image
    img = Image.fromarray(np.ascontiguousarray(a, np.float32))           # mode "F"
    return np.clip(np.asarray(img.resize(size, Image.LANCZOS), np.float32), 0, 1)
