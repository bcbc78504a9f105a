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
import numpy as np

from datasets.ink import ink_of, item_of
from datasets.read import read_grey

STRONG = 0.05      # a digit's box bounds its ink over this fraction of the strongest (all of
                   # MNIST's, not the faint halo a JPEG leaves around strokes)
PEN = 1.4          # strokes come out at least this wide in the 20x20 box (MNIST's 10th
                   # percentile of stroke_width, measured on its training images)


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
