"""The ink of a picture, against its paper (datasets/paper.py) or, for items photographed on a
backdrop (Fashion-MNIST's), against the backdrop's shade: for dark ink the fraction of the
paper's brightness it takes away (a stroke in a shadow as dark as one in the light), for light
ink on dark its difference. What the paper's noise explains is not ink; a speck far from the
drawing is dirt. A picture that holds no drawing is refused in one line (PictureError)."""
import numpy as np

from datasets.base import PictureError
from datasets.paper import (DOWN, DOWN_LEFT, DOWN_RIGHT, RIGHT, cell_medians, components,
                            convex_hull, eroded, holes_filled, interpolated, noise_spread,
                            paper_of, shade_regions, sheet_candidates, similar, upsampled)

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


def ink_of(grey, path):
    """(h, w) grey in [0, 1] -> (h, w) ink in [0, 1] of a drawing on paper: 0 the paper, 1 the
    strongest ink.

    The paper: the innermost large region of smoothly varying shade that holds ink (a sheet on
    a desk, not the desk). Dark ink is measured as a fraction of the paper's brightness where
    it lies (so a shadow does not become ink), light ink as its difference. PictureError when
    there is no plain paper (noise, texture), no ink (one shade), only a dot, or ink covering
    most of the paper."""
    med, size = cell_medians(grey)
    regions = shade_regions(med)
    sheets = sheet_candidates(regions)
    if not sheets:
        raise PictureError(f"{path}: no plain paper found (no region of one shade, or of a "
                           "shade changing smoothly, wider than a stroke)")
    return _ink_on(grey, med, size, regions == paper_of(sheets, regions, med), path)


def item_of(grey, path):
    """(h, w) grey in [0, 1] -> (h, w) the item in [0, 1] of a photo of one on a plain
    backdrop, as Zalando's were: 0 the backdrop (the shade of the picture's border), 1 the
    strongest departure from it (darker than a light backdrop, lighter than a dark one).
    PictureError when nothing departs from the backdrop."""
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    backdrop = float(np.median(border))
    signed = backdrop - grey if backdrop > 0.5 else grey - backdrop
    floor = NOISE * noise_spread(border)
    item = _without_specks(np.where(signed > floor, signed, 0), faint=True)
    if not item.any() or item.max() < CONTRAST:
        raise PictureError(f"{path}: no item found (the picture is one shade)")
    return (item / item.max()).astype(np.float32)


def _ink_on(grey, med, size, paper, path):
    """The ink on the paper region `paper` ((H, W) boolean cells): (h, w) in [0, 1]."""
    h, w = grey.shape
    def pixels(cells):
        return np.repeat(np.repeat(cells, size, 0), size, 1)[:h, :w]
    # what lies beyond the sheet (a desk), and within a cell of it, is not on the paper
    keep = pixels(eroded(convex_hull(paper), 1))
    level = interpolated(med, paper, "median")
    # the inside of a loop drawn on the paper (a 0) is paper too
    paper = paper | (holes_filled(paper) & similar(med, level))
    on_paper = pixels(paper)
    # the paper's statistics from about 2^16 of its pixels, evenly spread (the median of a
    # million costs more than all the rest)
    step = max(1, int(np.sqrt(h * w / 2 ** 16)))
    def paper_stats(a):
        sample = a[::step, ::step][on_paper[::step, ::step]]
        return np.median(sample), noise_spread(sample)
    # the polarity: the side whose departures beyond the paper's noise weigh more
    difference = grey - upsampled(level, size, (h, w))
    floor, noise = paper_stats(difference)
    noise *= NOISE
    darker = (np.clip(floor - difference - noise, 0, None) * keep).sum()
    lighter = (np.clip(difference - floor - noise, 0, None) * keep).sum()
    dark = darker >= lighter
    # the paper's shade where it is cleanest: the brightest paper near dark ink, the darkest
    # near light ink (not the faint rim of a stroke that joined the paper)
    shade = upsampled(interpolated(med, paper, "max" if dark else "min"), size,
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
    label = components(on, np.logical_and, (RIGHT, DOWN, DOWN_RIGHT, DOWN_LEFT))
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


