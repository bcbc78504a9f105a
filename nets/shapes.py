"""The arithmetic of shapes both twins and the tools share, each formula once."""
from dataclasses import dataclass


def conv_output(size, kernel, padding=0, stride=1):
    """Output length of a convolution (or pooling) over `size` pixels: torch's Conv2d and
    MaxPool2d, floor((size + 2 padding - kernel) / stride) + 1."""
    return (size + 2 * padding - kernel) // stride + 1


def count_layers(params):
    """(convolutions, fully connected layers) of a weights dict: its C_j and W_i keys."""
    return (sum(1 for k in params if k.startswith("C")),
            sum(1 for k in params if k.startswith("W")))


@dataclass(frozen=True)
class Arch:
    """What the weights do not say about a CNN: the image and how each convolution moves."""
    image: tuple             # (H, W) of the input images
    padding: tuple           # zero padding of each convolution
    stride: tuple            # stride of each convolution
    pool: int = 2            # max-pool kernel and stride after each convolution

    def conv_shapes(self, channels, kernel):
        """[((C, H, W) after the convolution, (C, H, W) after its pooling)] of each
        convolution of `channels` outputs. ValueError if the image shrinks to nothing."""
        if not len(channels) == len(self.padding) == len(self.stride):
            raise ValueError(f"{len(channels)} convolutions need as many paddings and strides, "
                             f"got {self.padding} and {self.stride}")
        H, W = self.image
        shapes = []
        for c, p, s in zip(channels, self.padding, self.stride):
            Hc, Wc = conv_output(H, kernel, p, s), conv_output(W, kernel, p, s)
            H, W = conv_output(Hc, self.pool, 0, self.pool), conv_output(Wc, self.pool, 0,
                                                                         self.pool)
            if H < 1 or W < 1:
                raise ValueError(f"the image shrinks to nothing after convolution "
                                 f"{len(shapes) + 1} (kernel {kernel}, padding {p}, stride "
                                 f"{s}, pool {self.pool})")
            shapes.append(((c, Hc, Wc), (c, H, W)))
        return shapes

    def feature_shapes(self, channels, kernel):
        """(C, H, W) after each convolution's pooling."""
        return [pooled for _, pooled in self.conv_shapes(channels, kernel)]
