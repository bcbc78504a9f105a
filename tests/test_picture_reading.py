"""A picture is read as the person sees it (read.read_grey): every mode and format Pillow
opens, turned as its EXIF orientation says, at its real bit depth, its palette and transparency
resolved, the first frame of several; or refused in one line that names the file (damaged, cut
short, empty, too large to decode). Each is held against the same drawing saved as an 8-bit
grey PNG, prepared as MNIST's images (a digit mirrored or turned a quarter differs from it by
0.10-0.12 on average, a JPEG at quality 95 by 0.03)."""
import numpy as np
import pytest
from PIL import Image

from datasets import catalog, picture, read
from datasets.base import PictureError

MNIST = catalog.DATASETS["mnist"]
# how to store an upright picture so that a viewer obeying EXIF orientation v shows it upright
STORED = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
          4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
          6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
          8: Image.Transpose.ROTATE_270}


@pytest.fixture(scope="module")
def drawing(mnist, tmp_path_factory):
    """(the drawing as an 8-bit grey image: MNIST's test digit 0, a 7, blown up 8x, dark ink on
    light paper, off-centre; its preparation as an MNIST image; as read_grey reads it)."""
    digit = np.round(mnist.x_test[0].reshape(28, 28) * 255).astype(np.uint8)
    big = np.asarray(Image.fromarray(digit).resize((224, 224), Image.BICUBIC), np.float32) / 255
    canvas = np.zeros((300, 260), np.float32)
    canvas[40:264, 20:244] = big
    grey = Image.fromarray(np.round(255 * (1 - 0.85 * canvas)).astype(np.uint8))
    path = tmp_path_factory.mktemp("reference") / "reference.png"
    grey.save(path)
    return grey, picture.prepare(path, MNIST), read.read_grey(path)


def same_drawing(path, reference, tolerance):
    """The mean absolute difference of the prepared picture from the reference (28x28) is
    within `tolerance`."""
    difference = np.abs(picture.prepare(path, MNIST) - reference).mean()
    assert difference <= tolerance, f"{path.name}: {difference:.4f} from the reference"


def one_line_error(path, cause):
    """prepare refuses `path` in one line that names the file and says `cause`."""
    with pytest.raises(PictureError) as caught:
        picture.prepare(path, MNIST)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path}: ") and cause in message, message


LOSSY = {"JPEG": 0.05, "MPO": 0.05, "AVIF": 0.05, "ICNS": 0.05, "ICO": 0.05,  # resampled too
         "MSP": 0.06, "XBM": 0.06}                                           # one bit a pixel
SAVE_OPTIONS = {"JPEG": dict(quality=95), "MPO": dict(quality=95), "AVIF": dict(quality=95),
                "WEBP": dict(lossless=True)}
Image.init()


@pytest.mark.parametrize("fmt", sorted(Image.SAVE))
def test_every_format_pillow_writes_is_read_as_the_same_drawing_or_refused_in_one_line(
        fmt, drawing, tmp_path):
    grey, reference, _ = drawing
    ending = {f: e for e, f in Image.registered_extensions().items()}.get(fmt, ".img")
    path = tmp_path / f"digit{ending}"
    for img in (grey, grey.convert("RGB"), grey.point(lambda v: 255 * (v > 128)).convert("1")):
        try:
            img.save(path, format=fmt, **SAVE_OPTIONS.get(fmt, {}))
            break
        except (OSError, ValueError, KeyError, TypeError):
            continue
    else:
        pytest.skip(f"Pillow cannot write {fmt} here")
    from PIL import EpsImagePlugin
    if ending in read.extensions() and (fmt != "EPS" or EpsImagePlugin.has_ghostscript()):
        same_drawing(path, reference, LOSSY.get(fmt, 0.005))
    else:                        # PDF, PALM: written, never read; EPS without Ghostscript
        one_line_error(path, "not a readable image")


def _modes(grey):
    """{name: (image, file ending)}: the drawing in every mode Pillow can store in a file."""
    a = np.asarray(grey)
    transparent = grey.convert("P")
    transparent.info["transparency"] = int(a.max())      # the paper's palette entry
    on_clear = np.zeros(a.shape + (4,), np.uint8)        # black strokes on a transparent sheet
    on_clear[..., 3] = 255 - a
    deep = (a.astype(np.uint16) * 257)                   # 16 bits: the paper at 60,000 or so
    return {
        "1": (grey.point(lambda v: 255 * (v > 128)).convert("1"), ".png"),
        "L": (grey, ".png"),
        "P": (grey.convert("RGB").quantize(256), ".png"),
        "P, a transparent entry": (transparent, ".png"),
        "P, a transparent entry, GIF": (transparent, ".gif"),
        "LA": (grey.convert("LA"), ".png"),
        "LA, strokes on a transparent sheet": (Image.fromarray(on_clear[..., 2:]), ".png"),
        "PA": (grey.convert("RGB").quantize(256).convert("PA"), ".tif"),
        "RGB": (grey.convert("RGB"), ".png"),
        "RGBA": (grey.convert("RGBA"), ".png"),
        "RGBA, strokes on a transparent sheet": (Image.fromarray(on_clear, "RGBA"), ".png"),
        "RGBX": (grey.convert("RGBX"), ".tif"),
        "CMYK": (grey.convert("CMYK"), ".tif"),
        "CMYK, JPEG": (grey.convert("CMYK"), ".jpg"),
        "YCbCr": (grey.convert("RGB").convert("YCbCr"), ".tif"),
        "LAB": (grey.convert("RGB").convert("LAB"), ".tif"),
        "I;16": (Image.fromarray(deep), ".png"),
        "I;16B": (Image.frombytes("I;16B", grey.size, deep.astype(">u2").tobytes()), ".tif"),
        "I, 32 bits signed": (Image.fromarray(np.round(a / 255 * (2 ** 31 - 1)).astype(
            np.int32)), ".tif"),
        "F, 0 to 1": (Image.fromarray(a.astype(np.float32) / 255), ".tif"),
        "F, 0 to 255": (Image.fromarray(a.astype(np.float32)), ".tif"),
    }


MODES = list(_modes(Image.new("L", (2, 2))))


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_is_read_as_it_is_displayed(mode, drawing, tmp_path):
    grey, reference, _ = drawing
    img, ending = _modes(grey)[mode]
    path = tmp_path / f"digit{ending}"
    img.save(path, **({"quality": 95} if ending == ".jpg" else {}))
    opened = Image.open(path).mode
    if opened.split(";")[0] != img.mode.split(";")[0] and not mode.startswith(("P", "RGBX")):
        import PIL                       # what the file holds is then another mode's test
        pytest.skip(f"Pillow {PIL.__version__} stores {img.mode} as {opened} in {ending}")
    tolerance = 0.06 if mode == "1" else 0.05 if ending == ".jpg" else 0.005
    same_drawing(path, reference, tolerance)
    if tolerance == 0.005:              # and the same shades: not clipped, not half as bright
        assert np.abs(read.read_grey(path) - drawing[2]).max() < 0.02


def test_16_bit_pixels_are_scaled_by_their_depth_not_clipped_at_255(drawing, tmp_path):
    """The issue's case: paper at 60,000 and ink at 12,000 of 65,535 (convert('L') clipped
    both to 255, one shade: 'no ink found')."""
    grey, reference, _ = drawing
    a = np.asarray(grey, np.float64) / 255
    Image.fromarray(np.round(a * 60000 + (1 - a) * 12000).astype(np.uint16)).save(
        tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode in ("I;16", "I")      # 16 bits a pixel
    same_drawing(tmp_path / "deep.png", reference, 0.005)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("ending", [".jpg", ".png"])
def test_exif_orientation_turns_the_picture_upright(orientation, ending, drawing, tmp_path):
    grey, reference, _ = drawing
    stored = grey if orientation == 1 else grey.transpose(STORED[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"phone{ending}"
    stored.save(path, exif=exif, **({"quality": 95} if ending == ".jpg" else {}))
    same_drawing(path, reference, 0.05 if ending == ".jpg" else 0.005)


@pytest.mark.parametrize("ending", [".gif", ".tif", ".png", ".webp"])
def test_the_first_frame_of_several_is_read(ending, drawing, tmp_path):
    grey, reference, _ = drawing
    other = grey.transpose(Image.Transpose.ROTATE_90).resize(grey.size)
    path = tmp_path / f"frames{ending}"
    options = {".webp": dict(lossless=True)}.get(ending, {})
    grey.convert("RGB").save(path, save_all=True, append_images=[other.convert("RGB")],
                             **options)
    assert getattr(Image.open(path), "n_frames", 1) == 2
    same_drawing(path, reference, 0.005)


def test_a_picture_too_large_to_decode_is_reduced_if_jpeg_else_refused(drawing, tmp_path,
                                                                        monkeypatch):
    grey, reference, _ = drawing
    big = grey.resize((grey.width * 4, grey.height * 4), Image.BICUBIC)
    big.save(tmp_path / "big.png")
    big.save(tmp_path / "big.jpg", quality=95)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", big.width * big.height // 8)
    one_line_error(tmp_path / "big.png", "too large to decode safely")
    # JPEG decodes at an eighth of the size for little: well inside the limit
    same_drawing(tmp_path / "big.jpg", reference, 0.04)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)            # under even an eighth
    one_line_error(tmp_path / "big.jpg", "too large to decode safely")


def test_a_very_large_photo_is_reduced_as_it_is_read(tmp_path):
    """A 12000x9000 (108 MP) phone JPEG, over Pillow's own limit, read at 1/8 in well under a
    second, to at most MAX_SIDE a side."""
    Image.new("L", (12000, 9000), 230).save(tmp_path / "huge.jpg", quality=85)
    grey = read.read_grey(tmp_path / "huge.jpg")
    assert max(grey.shape) <= read.MAX_SIDE and grey.shape[1] > grey.shape[0]


@pytest.mark.parametrize("damage,cause", [
    ("half a PNG", "damaged or cut short"),
    ("half a JPEG", "damaged or cut short"),
    ("empty", "an empty file (0 bytes)"),
    ("text", "not a readable image"),
    ("missing", "no such file"),
])
def test_damaged_files_are_one_line_errors(damage, cause, drawing, tmp_path):
    grey = drawing[0]
    grey.save(tmp_path / "whole.png")
    grey.save(tmp_path / "whole.jpg")
    path = tmp_path / f"{damage.replace(' ', '_')}.png"
    if damage.startswith("half"):
        whole = (tmp_path / ("whole.png" if "PNG" in damage else "whole.jpg")).read_bytes()
        path.write_bytes(whole[:len(whole) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "text":
        path.write_text("a picture of a 7")
    one_line_error(path, cause)


def test_a_folder_stands_for_the_pictures_in_it_in_any_format_pillow_opens(drawing, tmp_path):
    grey = drawing[0]
    for name in ("b.webp", "a.png", "c.tif", "d.bmp", "e.JPG"):
        grey.convert("RGB").save(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not a picture")
    assert [p.name for p in read.pictures([tmp_path])] == [
        "a.png", "b.webp", "c.tif", "d.bmp", "e.JPG"]
    assert ".webp" in read.extensions() and ".txt" not in read.extensions()
