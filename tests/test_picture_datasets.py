"""How the data sets' images were made, measured from their training images: the constants
picture.py places a picture by (catalog.Spec.ink_box and ink_centre, picture.PEN) held to them."""
import numpy as np

from datasets import catalog, picture

MNIST, FASHION = catalog.DATASETS["mnist"], catalog.DATASETS["fashion-mnist"]


def margins(images):
    """(N, H, W) -> (top, bottom, left, right): the rows and columns of each image outside the
    box of its nonzero pixels."""
    rows, cols = images.any(axis=2), images.any(axis=1)
    return (rows.argmax(1), rows[:, ::-1].argmax(1), cols.argmax(1), cols[:, ::-1].argmax(1))


def test_mnist_digits_fill_a_20_pixel_box_their_centre_of_mass_moved_onto_pixel_14(mnist):
    """LeCun et al.: scaled into a 20x20 box, then moved so that the centre of mass lies at the
    centre of the field; measured, it lies at (14, 14) in pixel indices, spread evenly over half
    a pixel either way as whole-pixel moves leave it (a standard deviation of 1/sqrt(12))."""
    x = mnist.x_train.reshape(-1, 28, 28)
    top, bottom, left, right = margins(x)
    longest = np.maximum(28 - top - bottom, 28 - left - right)
    assert (longest == MNIST.ink_box).mean() > 0.999
    mass = x.sum(axis=(1, 2))
    centre = np.stack([(x.sum(axis=2) * np.arange(28)).sum(1) / mass,
                       (x.sum(axis=1) * np.arange(28)).sum(1) / mass], 1)
    assert np.abs(centre.mean(axis=0) - MNIST.ink_centre).max() < 0.02
    assert np.abs(centre.std(axis=0) - 1 / np.sqrt(12)).max() < 0.01
    assert (np.abs(centre - MNIST.ink_centre) <= 0.5 + 0.02).mean() > 0.9999
    kaggle = catalog.DATASETS["kaggle"]                      # MNIST's own images
    assert (kaggle.ink_box, kaggle.ink_centre) == (MNIST.ink_box, MNIST.ink_centre)


def test_fashion_items_fill_the_field_their_box_centred(fashion):
    """Xiao et al.: trimmed, the longest edge resized to 28, the shortest extended to 28 with
    the item at the centre; measured, an odd pixel left over goes to the top or left."""
    x = fashion.x_train.reshape(-1, 28, 28) > 0
    top, bottom, left, right = margins(x)
    longest = np.maximum(28 - top - bottom, 28 - left - right)
    assert FASHION.ink_box == 28 and FASHION.ink_centre == ()
    assert (longest == FASHION.ink_box).mean() > 0.98
    for near, far in ((top, bottom), (left, right)):
        short = near + far > 0
        assert np.isin(far[short] - near[short], (-1, 0)).mean() > 0.95


def test_mnist_strokes_are_rarely_thinner_than_the_pen_pictures_are_widened_to(mnist):
    widths = [picture.stroke_width(image.reshape(28, 28)) for image in mnist.x_train[:10000]]
    assert abs(np.percentile(widths, 10) - picture.PEN) < 0.05
