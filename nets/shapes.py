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


# Batch norm after fully connected layer i is bn{i}_*, after convolution j cbn{j}_*: torch's
# nn.BatchNorm1d/2d names, prefixed. weight and bias are trained; the rest are buffers.
BN_PARAMS = ("weight", "bias")
BN_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


def bn_names(prefix):
    """{part: key} of the batch norm called `prefix` (e.g. "bn1", "cbn2")."""
    return {part: f"{prefix}_{part}" for part in BN_PARAMS + BN_BUFFERS}


def is_buffer(name):
    """A weights-file key that is state, not a trained parameter (batch norm's statistics)."""
    return name.endswith(BN_BUFFERS)


def split_buffers(arrays):
    """({trained parameters}, {buffers}) of a weights dict."""
    return ({k: v for k, v in arrays.items() if not is_buffer(k)},
            {k: v for k, v in arrays.items() if is_buffer(k)})


def head_part(arrays):
    """The fully connected layers' keys of a CNN's weights (W_i, b_i, bn{i}_*), which form its
    MLP head; the rest are the convolutions' (C_j, c_j, cbn{j}_*)."""
    return {k: v for k, v in arrays.items() if k[0] in "Wb"}


def cast(arrays, dtype):
    """The floating arrays as `dtype` (copies); batch norm's integer count as it is."""
    return {k: v.astype(dtype) if v.dtype.kind == "f" else v.copy() for k, v in arrays.items()}


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
