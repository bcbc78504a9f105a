"""Finding the paper in a photo: its brightness estimated on a coarse grid of cells (the median
of each: a pen stroke narrower than half a cell leaves it unchanged), the grid split into regions
of smoothly varying shade (a shadow is one region with the paper it darkens; the edge of a sheet
on a desk, or a stroke wider than a cell, is a step between regions), the paper the innermost
large region that is a sheet (lighter than the desk it lies on), else the page, and its shade
interpolated under the strokes. Pure NumPy; datasets/ink.py measures the ink against it."""
import numpy as np

CELLS = 48         # its shade is estimated on a grid of about this many cells across
STEP = 0.05        # neighbouring cells of one region differ by at most this, or by REL of the
REL = 0.1          # brighter one (a shadow darkens the paper smoothly; a sheet's edge is a step)
SHEET = 0.3        # a region can be paper when a square this fraction of the grid's shorter
                   # side fits in it, holes filled (strokes are narrower, even in a tight crop)
BLOB = 0.02        # a sheet encloses no compact patch unlike its shade over this fraction of its
ELONGATED = 2.5    # area, compact meaning a perimeter squared under this times 4 pi the area


def cell_medians(grey):
    """(h, w) -> (medians of the cells (H, W), cell side in pixels); the last row and column of
    cells take the picture's edge repeated."""
    h, w = grey.shape
    size = max(1, min(h, w) // CELLS)
    H, W = -(-h // size), -(-w // size)
    padded = np.pad(grey, ((0, H * size - h), (0, W * size - w)), mode="edge")
    cells = padded.reshape(H, size, W, size).transpose(0, 2, 1, 3).reshape(H, W, -1)
    return np.median(cells, axis=-1), size


def shade_regions(med):
    """(H, W) cell shades -> (H, W) region ids: cells joined through neighbours (4-connected)
    that differ by at most STEP, or REL of the brighter; and regions along the picture's edge
    of one shade (their medians similar) joined: paper that a stroke cuts in two as it runs
    from edge to edge, or a backdrop an item cuts, is one."""
    regions = components(med, similar, (RIGHT, DOWN))
    edge = np.unique(np.concatenate([regions[0], regions[-1], regions[:, 0], regions[:, -1]]))
    if len(edge) < 2:
        return regions
    level = np.array([np.median(med[regions == r]) for r in edge])
    same = similar(level[:, None], level[None, :])
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


def components(values, joined, directions):
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


def sheet_candidates(regions):
    """{id: filled mask} of the regions wide enough to be paper, a sheet or a backdrop: a
    square of SHEET times the grid's shorter side fits in them with their holes filled
    (strokes are narrower, even in a tight crop)."""
    r = max(1, round(SHEET * min(regions.shape) / 2))
    counts = np.bincount(regions.ravel())
    out = {}
    for region in np.nonzero(counts >= (2 * r + 1) ** 2 / 4)[0]:     # the rest cannot be
        filled = holes_filled(regions == region)
        if eroded(filled, r).any():
            out[int(region)] = filled
    return out


def paper_of(sheets, regions, med):
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
        beneath = np.median(interpolated(med, regions == under, "median")[mask])
        if shade <= beneath or similar(shade, beneath):
            continue
        # the inside of a 0 drawn on the sheet has the paper's shade: paper, not ink
        marks = (sheets[r] & ~mask) & ~similar(med, interpolated(med, mask, "median"))
        if not _blob(marks, BLOB * sheets[r].sum()).any():
            return r
    return max(sheets, key=lambda r: sheets[r].sum())


def similar(a, b):
    """Whether shades a and b (arrays) are one region's: within STEP, or REL of the brighter."""
    return np.abs(a - b) <= np.maximum(STEP, REL * np.maximum(a, b))


def _blob(mask, least):
    """The largest patch (4-connected) of `mask` if it covers at least `least` cells and is
    compact: its perimeter squared is under ELONGATED times 4 pi its area (a disc drawn on the
    grid scores 1.27, a stroke ten cells long and one wide 3.9); else no cell."""
    none = np.zeros_like(mask)
    if not mask.any():
        return none
    label = components(mask, np.logical_and, (RIGHT, DOWN))
    ids, area = np.unique(label[mask], return_counts=True)
    if area.max() < least:
        return none
    patch = label == ids[area.argmax()]
    padded = np.pad(patch, 1)
    edges = sum((padded[1:-1, 1:-1] & ~np.roll(padded, shift, axis)[1:-1, 1:-1]).sum()
                for shift, axis in ((1, 0), (-1, 0), (1, 1), (-1, 1)))
    return patch if edges ** 2 < ELONGATED * 4 * np.pi * area.max() else none


def eroded(mask, r):
    """Boolean (H, W) eroded by a (2r+1)-square; outside the picture counts as inside (a sheet
    may run past the picture's edge)."""
    out = np.pad(mask, r, mode="edge")
    for axis in (0, 1):
        windows = np.lib.stride_tricks.sliding_window_view(out, 2 * r + 1, axis=axis)
        out = windows.all(axis=-1)
    return out


def holes_filled(mask):
    """Boolean (H, W) with its holes filled: what cannot reach the picture's edge without
    crossing the mask."""
    label = components(~mask, np.logical_and, (RIGHT, DOWN))
    edge = np.unique(np.concatenate([label[0], label[-1], label[:, 0], label[:, -1]]))
    return mask | ~np.isin(label, edge)


def convex_hull(mask):
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


def noise_spread(a):
    """The standard deviation of the bulk of `a` (1.4826 median absolute deviations): the
    paper's noise, blind to the thin strokes that lie in paper cells."""
    return 1.4826 * float(np.median(np.abs(a - np.median(a)))) if a.size else 0.0


def interpolated(med, known, pick):
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


def upsampled(level, size, shape):
    """(H, W) cell values -> (h, w) pixels, bilinear between cell centres."""
    from PIL import Image
    if size == 1:
        return level[:shape[0], :shape[1]].astype(np.float32)
    H, W = level.shape
    img = Image.fromarray(level.astype(np.float32))
    big = np.asarray(img.resize((W * size, H * size), Image.BILINEAR), np.float32)
    return big[:shape[0], :shape[1]]


