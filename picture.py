"""A picture of the user's own (a photo or a drawing, any size, any format and mode Pillow reads)
prepared as the data set's images were made. Pure NumPy + Pillow.

Reading: the picture is taken as it is displayed: turned as its EXIF orientation says, the first
frame of an animation or a multi-page file, 16-bit and float pixels scaled by their real depth,
palettes and transparency resolved. A very large picture is reduced while it is decoded (JPEG)
or refused; an unreadable, empty or cut-short file is refused in one line (PictureError).

Finding the ink on paper (MNIST's digits): a photo's paper is not one shade. Its brightness is
estimated on a coarse grid of cells (the median of each: a pen stroke narrower than half a cell
leaves it unchanged), and the grid is split into regions of smoothly varying shade: a shadow is
one region with the paper it darkens, while the edge of a sheet on a desk, or a stroke wider
than a cell, is a step between regions. The paper is the innermost large region that is a
sheet (lighter than the desk it lies on), else the page. Its shade is interpolated under the
strokes, and the ink is the picture's departure from it: for dark ink the fraction of the
paper's brightness it takes away (a stroke in a shadow as dark as one in the light), for light
ink on dark its difference. What the paper's noise explains is not ink; a speck far from the
drawing is dirt; a stroke too fine for the 20x20 box is widened. Items photographed on a
backdrop (Fashion-MNIST's, a data set without Spec.ink_centre) are found as Zalando found them:
against the backdrop's shade, the median of the picture's border; there the large object is the
item, not a sheet.

Placing it (Spec.ink_box, Spec.ink_centre, measured from the data sets' training images):
MNIST's digits (LeCun et al.): the ink cropped, scaled to fit a 20x20 box keeping its aspect
ratio (anti-aliased, so grey edges), then moved by whole pixels so that its centre of mass falls
on pixel (14, 14). Fashion-MNIST's items (Xiao et al. 2017): trimmed to the backdrop, the longest
edge scaled to 28, the box centred (an odd pixel to the top or left). A data set without a box
(lines) has its whole picture resized to the image size.

    prepare(path, spec) -> (H W,) float32 in [0, 1], light ink on black, as the data sets
"""
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np

MAX_SIDE = 1024    # pictures are reduced to this longest side as they are read: the ink ends up
                   # in a 20x20 box, and a phone's 12-200 MP photo would cost seconds and GBs
# the paper
CELLS = 48         # its shade is estimated on a grid of about this many cells across
STEP = 0.05        # neighbouring cells of one region differ by at most this, or by REL of the
REL = 0.1          # brighter one (a shadow darkens the paper smoothly; a sheet's edge is a step)
SHEET = 0.3        # a region can be paper when a square this fraction of the grid's shorter
                   # side fits in it, holes filled (strokes are narrower, even in a tight crop)
BLOB = 0.02        # a sheet encloses no compact patch unlike its shade over this fraction of its
ELONGATED = 2.5    # area, compact meaning a perimeter squared under this times 4 pi the area
# the ink
NOISE = 4.0        # ink departs from the paper by more than this many of the paper's standard
                   # deviations (the paper's texture and the camera's noise are not ink)
CONTRAST = 0.1     # the strongest ink departs from the paper by at least this (of its brightness
                   # for dark ink, of the full scale for light ink); less is one shade
SPECK = 0.1        # a patch with less than this fraction of the drawing's ink, further from the
NEAR = 0.25        # drawing's box than this fraction of its size, is dirt
FULL = 0.5         # a pixel at this fraction of the strongest ink is inked (covering the paper,
                   # outlining a stroke, making a patch a piece of one)
COVER = 0.5        # ink over more than this fraction of the paper is not a drawing on it
DOT = 0.04         # a drawing spans at least this fraction of the picture's shorter side (a
                   # digit a centimetre high on a whole A4 page does; a speck of dirt does not)
# placing it
STRONG = 0.05      # a digit's box bounds its ink over this fraction of the strongest (all of
                   # MNIST's, not the faint halo a JPEG leaves around strokes)
PEN = 1.4          # strokes come out at least this wide in the 20x20 box (MNIST's 10th
                   # percentile of stroke_width, measured on its training images)


class PictureError(Exception):
    """A picture that cannot be read or made into the data set's image; the message is one line
    that names the file and the cause."""


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


# ------------------------------------------------------------------------------------ reading

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


# ---------------------------------------------------------------------------- finding the ink

def ink_of(grey, path):
    """(h, w) grey in [0, 1] -> (h, w) ink in [0, 1] of a drawing on paper: 0 the paper, 1 the
    strongest ink.

    The paper: the innermost large region of smoothly varying shade that holds ink (a sheet on
    a desk, not the desk). Dark ink is measured as a fraction of the paper's brightness where
    it lies (so a shadow does not become ink), light ink as its difference. PictureError when
    there is no plain paper (noise, texture), no ink (one shade), only a dot, or ink covering
    most of the paper."""
    med, size = _cell_medians(grey)
    regions = _regions(med)
    sheets = _sheets(regions)
    if not sheets:
        raise PictureError(f"{path}: no plain paper found (no region of one shade, or of a "
                           "shade changing smoothly, wider than a stroke)")
    return _ink_on(grey, med, size, regions == _paper(sheets, regions, med), path)


def item_of(grey, path):
    """(h, w) grey in [0, 1] -> (h, w) the item in [0, 1] of a photo of one on a plain
    backdrop, as Zalando's were: 0 the backdrop (the shade of the picture's border), 1 the
    strongest departure from it (darker than a light backdrop, lighter than a dark one).
    PictureError when nothing departs from the backdrop."""
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    backdrop = float(np.median(border))
    signed = backdrop - grey if backdrop > 0.5 else grey - backdrop
    floor = NOISE * _spread(border)
    item = _without_specks(np.where(signed > floor, signed, 0), faint=True)
    if not item.any() or item.max() < CONTRAST:
        raise PictureError(f"{path}: no item found (the picture is one shade)")
    return (item / item.max()).astype(np.float32)


def _cell_medians(grey):
    """(h, w) -> (medians of the cells (H, W), cell side in pixels); the last row and column of
    cells take the picture's edge repeated."""
    h, w = grey.shape
    size = max(1, min(h, w) // CELLS)
    H, W = -(-h // size), -(-w // size)
    padded = np.pad(grey, ((0, H * size - h), (0, W * size - w)), mode="edge")
    cells = padded.reshape(H, size, W, size).transpose(0, 2, 1, 3).reshape(H, W, -1)
    return np.median(cells, axis=-1), size


def _regions(med):
    """(H, W) cell shades -> (H, W) region ids: cells joined through neighbours (4-connected)
    that differ by at most STEP, or REL of the brighter; and regions along the picture's edge
    of one shade (their medians similar) joined: paper that a stroke cuts in two as it runs
    from edge to edge, or a backdrop an item cuts, is one."""
    regions = _components(med, _similar, (RIGHT, DOWN))
    edge = np.unique(np.concatenate([regions[0], regions[-1], regions[:, 0], regions[:, -1]]))
    if len(edge) < 2:
        return regions
    level = np.array([np.median(med[regions == r]) for r in edge])
    same = _similar(level[:, None], level[None, :])
    join = np.arange(len(edge))
    for i in range(len(edge)):               # each to the first of the same shade
        join[i] = join[np.argmax(same[i])]
    lookup = np.arange(regions.size)
    lookup[edge] = edge[join]
    return lookup[regions]


# neighbours as (slices of the first cells, slices of their neighbours)
RIGHT = (np.s_[:, :-1], np.s_[:, 1:])
DOWN = (np.s_[:-1, :], np.s_[1:, :])
DOWN_RIGHT = (np.s_[:-1, :-1], np.s_[1:, 1:])
DOWN_LEFT = (np.s_[:-1, 1:], np.s_[1:, :-1])


def _components(values, joined, directions):
    """(H, W) values -> (H, W) component ids (the smallest flat index in each): neighbours in
    `directions` are joined where joined(value, neighbour's value) holds. Minimum-label
    propagation with pointer jumping: a few dozen NumPy passes, no Python loop over cells."""
    H, W = values.shape
    index = np.arange(H * W).reshape(H, W)
    a, b = [], []
    for first, second in directions:
        ok = joined(values[first], values[second])
        a.append(index[first][ok])
        b.append(index[second][ok])
    a, b = np.concatenate(a), np.concatenate(b)
    label = np.arange(H * W)
    while True:
        la, lb = label[a], label[b]
        differ = la != lb
        if not differ.any():
            return label.reshape(H, W)
        low = np.minimum(la, lb)[differ]
        np.minimum.at(label, la[differ], low)
        np.minimum.at(label, lb[differ], low)
        while True:                                     # every node to its root
            up = label[label]
            if (up == label).all():
                break
            label = up


def _sheets(regions):
    """{id: filled mask} of the regions wide enough to be paper, a sheet or a backdrop: a
    square of SHEET times the grid's shorter side fits in them with their holes filled
    (strokes are narrower, even in a tight crop)."""
    r = max(1, round(SHEET * min(regions.shape) / 2))
    counts = np.bincount(regions.ravel())
    out = {}
    for region in np.nonzero(counts >= (2 * r + 1) ** 2 / 4)[0]:     # the rest cannot be
        filled = _filled(regions == region)
        if _eroded(filled, r).any():
            out[int(region)] = filled
    return out


def _paper(sheets, regions, med):
    """The id of the paper among the candidate regions ({id: filled mask}): the innermost that
    is a sheet, else the largest of those lying in no other. A region inside another is a
    sheet if it is lighter than what it lies on (white paper on a desk; a dark blob on the
    paper is ink), unlike it (else it is a part of the same paper cut off by a drawn loop),
    and not a thick stroke: what it encloses unlike its shade is not a compact blob (as the
    loops of a thick 8 are)."""
    around = {r: [o for o in sheets if o != r and sheets[o][regions == r].all()] for r in sheets}
    for r in sorted(sheets, key=lambda r: (-len(around[r]), -(regions == r).sum())):
        mask = regions == r
        if not around[r]:
            return r
        under = min(around[r], key=lambda o: sheets[o].sum())        # the nearest outside it
        shade = np.median(med[mask])
        beneath = np.median(_interpolated(med, regions == under, "median")[mask])
        if shade <= beneath or _similar(shade, beneath):
            continue
        # the inside of a 0 drawn on the sheet has the paper's shade: paper, not ink
        marks = (sheets[r] & ~mask) & ~_similar(med, _interpolated(med, mask, "median"))
        if not _blob(marks, BLOB * sheets[r].sum()).any():
            return r
    return max(sheets, key=lambda r: sheets[r].sum())


def _similar(a, b):
    """Whether shades a and b (arrays) are one region's: within STEP, or REL of the brighter."""
    return np.abs(a - b) <= np.maximum(STEP, REL * np.maximum(a, b))


def _blob(mask, least):
    """The largest patch (4-connected) of `mask` if it covers at least `least` cells and is
    compact: its perimeter squared is under ELONGATED times 4 pi its area (a disc drawn on the
    grid scores 1.27, a stroke ten cells long and one wide 3.9); else no cell."""
    none = np.zeros_like(mask)
    if not mask.any():
        return none
    label = _components(mask, np.logical_and, (RIGHT, DOWN))
    ids, area = np.unique(label[mask], return_counts=True)
    if area.max() < least:
        return none
    patch = label == ids[area.argmax()]
    padded = np.pad(patch, 1)
    edges = sum((padded[1:-1, 1:-1] & ~np.roll(padded, shift, axis)[1:-1, 1:-1]).sum()
                for shift, axis in ((1, 0), (-1, 0), (1, 1), (-1, 1)))
    return patch if edges ** 2 < ELONGATED * 4 * np.pi * area.max() else none


def _eroded(mask, r):
    """Boolean (H, W) eroded by a (2r+1)-square; outside the picture counts as inside (a sheet
    may run past the picture's edge)."""
    out = np.pad(mask, r, mode="edge")
    for axis in (0, 1):
        windows = np.lib.stride_tricks.sliding_window_view(out, 2 * r + 1, axis=axis)
        out = windows.all(axis=-1)
    return out


def _filled(mask):
    """Boolean (H, W) with its holes filled: what cannot reach the picture's edge without
    crossing the mask."""
    label = _components(~mask, np.logical_and, (RIGHT, DOWN))
    edge = np.unique(np.concatenate([label[0], label[-1], label[:, 0], label[:, -1]]))
    return mask | ~np.isin(label, edge)


def _hull(mask):
    """Boolean (H, W): the cells whose centres lie in the convex hull of the cells of `mask`
    (a sheet is convex: what lies outside its hull is the desk, what lies inside but is not
    paper is drawn on it, even where a stroke runs off the picture's edge)."""
    H, W = mask.shape
    rows = np.nonzero(mask.any(axis=1))[0]
    first = mask[rows].argmax(axis=1)
    last = W - mask[rows][:, ::-1].argmax(axis=1)
    points = sorted(set(zip(np.r_[first, first, last, last].tolist(),
                            np.r_[rows, rows + 1, rows, rows + 1].tolist())))
    hull = []                                  # Andrew's monotone chain
    for chain in (points, points[::-1]):
        start = len(hull)
        for p in chain:
            while len(hull) >= start + 2 and _turn(hull[-2], hull[-1], p) <= 0:
                hull.pop()
            hull.append(p)
        hull.pop()
    if len(hull) < 3:
        return mask.copy()
    v = np.array(hull, float)
    edge = np.roll(v, -1, axis=0) - v
    x, y = np.meshgrid(np.arange(W) + 0.5, np.arange(H) + 0.5)
    cross = (edge[:, 0, None, None] * (y - v[:, 1, None, None])
             - edge[:, 1, None, None] * (x - v[:, 0, None, None]))
    return (cross >= 0).all(axis=0) | mask


def _turn(o, a, b):
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _ink_on(grey, med, size, paper, path):
    """The ink on the paper region `paper` ((H, W) boolean cells): (h, w) in [0, 1]."""
    h, w = grey.shape
    def pixels(cells):
        return np.repeat(np.repeat(cells, size, 0), size, 1)[:h, :w]
    # what lies beyond the sheet (a desk), and within a cell of it, is not on the paper
    keep = pixels(_eroded(_hull(paper), 1))
    level = _interpolated(med, paper, "median")
    # the inside of a loop drawn on the paper (a 0) is paper too
    paper = paper | (_filled(paper) & _similar(med, level))
    on_paper = pixels(paper)
    # the paper's statistics from about 2^16 of its pixels, evenly spread (the median of a
    # million costs more than all the rest)
    step = max(1, int(np.sqrt(h * w / 2 ** 16)))
    def paper_stats(a):
        sample = a[::step, ::step][on_paper[::step, ::step]]
        return np.median(sample), _spread(sample)
    # the polarity: the side whose departures beyond the paper's noise weigh more
    difference = grey - _upsampled(level, size, (h, w))
    floor, noise = paper_stats(difference)
    noise *= NOISE
    darker = (np.clip(floor - difference - noise, 0, None) * keep).sum()
    lighter = (np.clip(difference - floor - noise, 0, None) * keep).sum()
    dark = darker >= lighter
    # the paper's shade where it is cleanest: the brightest paper near dark ink, the darkest
    # near light ink (not the faint rim of a stroke that joined the paper)
    shade = _upsampled(_interpolated(med, paper, "max" if dark else "min"), size,
                       (h, w))
    # dark ink as the fraction of the paper's brightness it takes away (as dark in a shadow
    # as in the light), light ink as its difference
    signed = (shade - grey) / np.maximum(shade, CONTRAST) if dark else grey - shade
    floor, noise = paper_stats(signed)
    floor = max(floor + NOISE * noise, 0.0)
    ink = _without_specks(np.where(signed > floor, signed, 0) * keep)
    # the strongest ink stands well clear of the paper's noise (twice the floor: the noise's
    # own extremes in a million pixels barely pass it) and spans more than a dot
    strongest = float(ink.max(initial=0))
    if strongest < max(CONTRAST, 2 * floor):
        raise PictureError(f"{path}: no ink found (the picture is one shade)")
    rows, cols = np.nonzero(ink >= FULL * strongest)
    if max(rows.max() - rows.min(), cols.max() - cols.min()) + 1 < DOT * min(h, w):
        raise PictureError(f"{path}: no drawing found, only a dot "
                           f"({rows.max() - rows.min() + 1}x{cols.max() - cols.min() + 1} "
                           "pixels)")
    ink /= strongest
    covered = (ink >= FULL).sum() / keep.sum()
    if covered > COVER:
        raise PictureError(f"{path}: the ink covers {covered:.0%} of the paper: not a "
                           "drawing on plain paper")
    return ink.astype(np.float32)


def _spread(a):
    """The standard deviation of the bulk of `a` (1.4826 median absolute deviations): the
    paper's noise, blind to the thin strokes that lie in paper cells."""
    return 1.4826 * float(np.median(np.abs(a - np.median(a)))) if a.size else 0.0


def _interpolated(med, known, pick):
    """(H, W) shades known on the cells `known` -> (H, W) everywhere: the median, "max" or "min"
    (`pick`) of the known cells in the 5x5 square around each cell where it holds at least 5
    (a lone faint pixel at a stroke's rim does not speak for the paper), elsewhere the mean
    of those in the smallest square that holds some (doubling its size)."""
    H, W = med.shape
    windows = np.lib.stride_tricks.sliding_window_view(
        np.pad(np.where(known, med, np.nan), 2, constant_values=np.nan), (5, 5))
    windows = np.sort(windows.reshape(H, W, 25), axis=-1)           # the unknown (NaN) last
    count = (~np.isnan(windows)).sum(axis=-1)
    at = {"median": ((count - 1) // 2, count // 2), "max": (count - 1,) * 2,
          "min": (np.zeros_like(count),) * 2}[pick]
    out = sum(np.take_along_axis(windows, np.clip(i, 0, 24)[..., None], -1)[..., 0]
              for i in at) / 2
    out[count < 5] = np.nan
    if np.isnan(out).all():                                   # a sliver of paper: take it all
        out = np.full((H, W), {"median": np.median, "max": np.max, "min": np.min}[pick](
            med[known]))
    todo = np.isnan(out)
    base, weight = np.where(todo, 0.0, out), (~todo).astype(float)
    r = 1
    while todo.any():
        count = _box_sum(weight, r)
        fill = todo & (count > 0)
        out[fill] = _box_sum(base, r)[fill] / count[fill]
        todo &= ~fill
        r *= 2
    return out


def _box_sum(a, r):
    """Sum of `a` over the (2r+1)-square around each cell, clipped to the grid."""
    p = np.pad(a, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    H, W = a.shape
    y0 = np.clip(np.arange(H) - r, 0, H)
    y1 = np.clip(np.arange(H) + r + 1, 0, H)
    x0 = np.clip(np.arange(W) - r, 0, W)
    x1 = np.clip(np.arange(W) + r + 1, 0, W)
    return p[y1][:, x1] - p[y0][:, x1] - p[y1][:, x0] + p[y0][:, x0]


def _upsampled(level, size, shape):
    """(H, W) cell values -> (h, w) pixels, bilinear between cell centres."""
    from PIL import Image
    if size == 1:
        return level[:shape[0], :shape[1]].astype(np.float32)
    H, W = level.shape
    img = Image.fromarray(level.astype(np.float32))
    big = np.asarray(img.resize((W * size, H * size), Image.BILINEAR), np.float32)
    return big[:shape[0], :shape[1]]


def _without_specks(ink, faint=False):
    """Ink without what is not the drawing: patches (8-connected, found on a grid of at most 256
    cells a side) with less than SPECK of the largest patch's ink, unless they are a piece of
    a stroke: strong (they reach FULL of the strongest ink, where the paper's noise and a
    JPEG's halo are faint; any with `faint`, an item's shading) and near the drawing (within
    NEAR of the size of the large patches' box; a speck of dirt further away is not the
    digit's)."""
    h, w = ink.shape
    step = max(1, -(-max(h, w) // 256))
    H, W = -(-h // step), -(-w // step)
    cells = np.pad(ink, ((0, H * step - h), (0, W * step - w))).reshape(H, step, W, step)
    total, peak = cells.sum(axis=(1, 3)), cells.max(axis=(1, 3))
    on = total > 0
    label = _components(on, np.logical_and, (RIGHT, DOWN, DOWN_RIGHT, DOWN_LEFT))
    ids, patch = np.unique(label[on], return_inverse=True)
    if len(ids) <= 1:
        return ink
    rows, cols = np.nonzero(on)
    n = len(ids)
    mass = np.bincount(patch, weights=total[on], minlength=n)
    strongest = np.zeros(n)
    np.maximum.at(strongest, patch, peak[on])
    top, left = np.full(n, H), np.full(n, W)
    bottom, right = np.full(n, -1), np.full(n, -1)
    np.minimum.at(top, patch, rows)
    np.maximum.at(bottom, patch, rows)
    np.minimum.at(left, patch, cols)
    np.maximum.at(right, patch, cols)
    big = mass >= SPECK * mass.max()
    y0, y1, x0, x1 = top[big].min(), bottom[big].max(), left[big].min(), right[big].max()
    margin = NEAR * max(y1 - y0 + 1, x1 - x0 + 1)
    near = ((bottom >= y0 - margin) & (top <= y1 + margin)
            & (right >= x0 - margin) & (left <= x1 + margin))
    keep = big | (near & (faint | (strongest >= FULL * strongest.max())))
    kept = np.zeros((H, W), bool)
    kept[rows, cols] = keep[patch]
    return ink * np.repeat(np.repeat(kept, step, 0), step, 1)[:h, :w]


# ---------------------------------------------------------------------------------- placing it

def prepare(path, spec):
    """The picture at `path` as one of spec's images: (H W,) float32 in [0, 1], light ink on
    black. PictureError (one line, naming the file) when it cannot be read or holds no drawing
    that can be made into one (no ink, no plain paper, ink covering most of it)."""
    items = bool(spec.ink_box and not spec.ink_centre)
    grey = read_grey(path)
    ink = item_of(grey, path) if items else ink_of(grey, path)
    H, W = spec.image_shape
    if not spec.ink_box:
        return resized(ink, (W, H)).reshape(-1)
    # a digit's box bounds its ink; an item's, all that departs from the backdrop (Zalando
    # trimmed where the backdrop's colour ends)
    strong = 0.0 if items else STRONG
    ink = _cropped(ink)
    if not items:
        ink = _cropped(_thickened(ink, spec.ink_box, strong))
    rows, cols = np.nonzero(ink > strong)
    scale = spec.ink_box / max(rows.max() - rows.min() + 1, cols.max() - cols.min() + 1)
    h, w = ink.shape
    box = resized(ink, (max(1, round(w * scale)), max(1, round(h * scale))))
    if spec.ink_centre:
        # moved by whole pixels so that its centre of mass falls on ink_centre
        mass = box.sum()
        cy = (box.sum(axis=1) * np.arange(box.shape[0])).sum() / mass
        cx = (box.sum(axis=0) * np.arange(box.shape[1])).sum() / mass
        top, left = np.floor(np.subtract(spec.ink_centre, (cy, cx)) + 0.5).astype(int)
    else:
        # the box of the item centred, an odd pixel to the top and left (Fashion-MNIST's)
        rows, cols = np.nonzero(box > strong)
        top = (H - (rows.max() - rows.min() + 1) + 1) // 2 - rows.min()
        left = (W - (cols.max() - cols.min() + 1) + 1) // 2 - cols.min()
    return _pasted(box, (H, W), top, left).reshape(-1)


def _cropped(ink):
    """`ink` cut to the box of its nonzero pixels."""
    rows, cols = np.nonzero(ink > 0)
    return ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]


def _pasted(box, shape, top, left):
    """`box` laid on a black field of `shape` with its corner at (top, left), moved inside the
    field where it fits (as MNIST's digits all lie inside theirs), else cut at its edges."""
    H, W = shape
    bh, bw = box.shape
    top = int(np.clip(top, 0, H - bh)) if bh <= H else (H - bh) // 2
    left = int(np.clip(left, 0, W - bw)) if bw <= W else (W - bw) // 2
    out = np.zeros(shape, np.float32)
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + bh, H), min(left + bw, W)
    out[y0:y1, x0:x1] = box[y0 - top:y1 - top, x0 - left:x1 - left]
    return out


def stroke_width(ink):
    """The mean width of the strokes of `ink` (h, w) in pixels: twice the ink's mass over the
    length of the outline of its pixels at half strength (a stroke's outline runs along both
    its sides)."""
    inked = np.pad(ink >= 0.5, 1)
    outline = sum((inked & ~np.roll(inked, shift, axis)).sum()
                  for shift, axis in ((1, 0), (-1, 0), (1, 1), (-1, 1)))
    return 2 * float(ink.sum()) / max(1, outline)


def _thickened(ink, box, strong):
    """The cropped ink, its strokes widened (a grey dilation) so that scaled into `box` (the
    box bounding the ink over `strong`) they are at least PEN pixels wide, as nearly all of the
    data set's are: a fine pen on a large digit would otherwise come out as a hairline the
    network has hardly seen."""
    rows, cols = np.nonzero(ink > strong)
    scale = box / max(rows.max() - rows.min() + 1, cols.max() - cols.min() + 1)
    missing = PEN / scale - stroke_width(ink)          # in the picture's pixels
    n = 1 + int(round(missing))
    if n < 2:
        return ink
    out = np.pad(ink, n)
    for axis in (0, 1):
        out = np.lib.stride_tricks.sliding_window_view(out, n, axis=axis).max(axis=-1)
    return out


def resized(a, size):
    """(h, w) float image -> size (w', h') by Pillow's Lanczos filter (anti-aliased), in [0, 1];
    the same size returns it unchanged."""
    from PIL import Image
    if size == (a.shape[1], a.shape[0]):
        return np.clip(a, 0, 1).astype(np.float32)
    img = Image.fromarray(np.ascontiguousarray(a, np.float32))           # mode "F"
    return np.clip(np.asarray(img.resize(size, Image.LANCZOS), np.float32), 0, 1)
