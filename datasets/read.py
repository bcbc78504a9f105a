"""Reading a picture as it is displayed: turned as its EXIF orientation says, the first frame of
an animation or a multi-page file, 16-bit and float pixels scaled by their real depth, palettes
and transparency resolved. A very large picture is reduced while it is decoded (JPEG) or
refused; an unreadable, empty or cut-short file is refused in one line (PictureError)."""
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from datasets.base import PictureError

MAX_SIDE = 1024    # pictures are reduced to this longest side as they are read: the ink ends up
                   # in a 20x20 box, and a phone's 12-200 MP photo would cost seconds and GBs


def extensions():
    """The file name endings of the formats Pillow can open here (lower case, with the dot)."""
    from PIL import Image
    Image.init()
    return tuple(sorted(ext for ext, fmt in Image.registered_extensions().items()
                        if fmt in Image.OPEN or fmt == "MPO"))       # MPO opens as a JPEG


def pictures(paths):
    """The image files among `paths` (Paths), a folder standing for the files in it in a format
    Pillow opens, by name. PictureError for a path that does not exist or a folder without
    any."""
    out = []
    known = extensions()
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in known)
            if not found:
                raise PictureError(f"{path}: a folder with no images (no file in a format "
                                   "Pillow opens)")
            out += found
        elif path.is_file():
            out.append(path)
        else:
            raise PictureError(f"{path}: no such file or folder")
    return out



def read_grey(path):
    """The picture at `path` as displayed, in grey: (h, w) float32 in [0, 1] (0 black), its
    longest side at most MAX_SIDE. Transparency is laid on white, or on black under light
    strokes.
    PictureError if the file cannot be read, is empty, damaged, cut short or too large."""
    from PIL import Image, UnidentifiedImageError
    path = Path(path)
    if not path.is_file():
        raise PictureError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise PictureError(f"{path}: an empty file (0 bytes)")
    try:
        with _opened(path) as img, warnings.catch_warnings():
            # a frame larger than Pillow's limit found while decoding: refused below
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            grey, alpha = _decoded(img, path)
    except PictureError:
        raise
    except UnidentifiedImageError:
        raise PictureError(f"{path}: not a readable image (not a format Pillow can open)")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise PictureError(f"{path}: too large to decode safely ({_line(e)})")
    except MemoryError:
        raise PictureError(f"{path}: too large to decode in this machine's memory")
    except Exception as e:       # Pillow's decoders raise many kinds on damaged or cut-short files
        raise PictureError(f"{path}: not a readable image (damaged or cut short: "
                           f"{type(e).__name__}: {_line(e)})")
    if alpha is None:
        return grey
    drawn = grey[alpha > 0.5] / alpha[alpha > 0.5]
    # what is transparent is laid on white, as most viewers show it, unless what is drawn is
    # mostly light (white strokes on a transparent sheet): then on black
    paper = 0.0 if drawn.size and drawn.mean() > 0.6 else 1.0
    return grey + (1 - alpha) * paper                # grey is premultiplied by alpha


def _line(e):
    return " ".join(str(e).split()) or "no detail"


@contextmanager
def _opened(path):
    """Image.open with Pillow's pixel limit checked here instead (_decoded), so that a JPEG over
    it can still be decoded reduced; opening reads only the header."""
    from PIL import Image
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        img = Image.open(path)
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    with img:
        yield img


def _decoded(img, path):
    """An opened image -> (grey, alpha or None), (h, w) float32 arrays in [0, 1], grey
    premultiplied by alpha; reduced to MAX_SIDE; turned as displayed."""
    from PIL import Image, ImageOps
    w, h = img.size
    if w < 1 or h < 1:
        raise PictureError(f"{path}: an image of {w}x{h} pixels")
    limit = Image.MAX_IMAGE_PIXELS or np.inf
    scale = min(1.0, MAX_SIDE / max(w, h), np.sqrt(limit / (w * h)) / 2)
    if scale < 1 and img.format in ("JPEG", "MPO"):
        # JPEG decodes at 1/2, 1/4 or 1/8 scale for almost nothing: a 200 MP photo in 0.1 s
        img.draft("L" if img.mode == "RGB" else img.mode,
                  (max(1, int(w * scale)), max(1, int(h * scale))))
    if img.size[0] * img.size[1] > limit:
        raise PictureError(f"{path}: too large to decode safely ({w}x{h} = {w * h} pixels, "
                           f"more than Pillow's limit of {limit}): save it smaller")
    img.load()
    tags = dict(getattr(img, "tag_v2", {}))            # TIFF's, which a turned copy loses
    img = ImageOps.exif_transpose(img)                 # as the phone showed it
    mode = img.mode
    if mode in ("I", "F") or mode.startswith("I;"):
        alpha, grey = None, _deep_grey(img, tags, path)
    elif mode in ("RGBA", "LA", "La", "PA", "RGBa") or "transparency" in img.info:
        if mode == "La":
            img = img.convert("LA")
        # premultiplied, so that reducing does not bleed the colour of transparent pixels
        grey = img.convert("RGBA").convert("RGBa")
    else:
        try:
            grey = img.convert("L")
        except ValueError:                             # LAB, for one, goes through RGB
            grey = img.convert("RGB").convert("L")
    factor = -(-max(grey.size) // MAX_SIDE)
    if factor > 1:
        grey = grey.reduce(factor)                     # the mean of each factor x factor block
    a = np.asarray(grey, np.float32)
    if grey.mode == "F":
        return a, None
    a = a / 255
    if grey.mode == "RGBa":
        return a[..., :3] @ np.float32([0.299, 0.587, 0.114]), a[..., 3]
    return a, None


def _deep_grey(img, tags, path):
    """A 16- or 32-bit integer or float image -> mode F in [0, 1], scaled by the bit depth the
    file declares (`tags`, TIFF's; less the sign bit of a signed one), else by its mode's (16
    bits; 32 if its values need them). Negative values are black."""
    from PIL import Image
    a = np.asarray(img).astype(np.float64)
    if not np.isfinite(a).all():
        raise PictureError(f"{path}: pixels that are not numbers (NaN or infinite)")
    bits, kind = tags.get(258), tags.get(339)            # BitsPerSample, SampleFormat
    bits = bits[0] if isinstance(bits, tuple) else bits
    if bits and (kind[0] if isinstance(kind, tuple) else kind) == 2:
        bits -= 1                                        # signed: the top bit is the sign
    top = a.max(initial=0)
    if img.mode == "F":
        full = next(f for f in (1.0, 255.0, 65535.0, max(top, 1.0)) if top <= f)
    elif bits:
        full = 2.0 ** bits - 1
    elif img.mode.startswith("I;16"):
        full = 65535.0
    else:                                    # PGM's and old PNG's 16 bits, else 32
        full = 65535.0 if top <= 65535 else 2.0 ** 32 - 1
    return Image.fromarray(np.clip(a / full, 0, 1).astype(np.float32))

