"""The models a Config names (--model): their initial weights, each twin's network of them, their
description, and the memory training them needs. Imports no twin: a twin is passed in.

    mlp   mlp_np.MLP, mlp_torch.MLP            (n_inputs, *hidden, n_classes), ReLU
    cnn   nets/cnn_np.CNN, nets/cnn_torch.CNN  per convolution: conv, max-pool, ReLU; the MLP head
"""
import mlp_np
from datasets.catalog import DATASETS
from nets import cnn_np
from nets.dense_np import with_batch_norm
from nets.shapes import Arch, count_layers

# Images per forward pass when scoring (memory_needed counts them): a CNN's fewer, as its
# im2col columns take 25-50 times an image's pixels (10,000 images: 0.8 GB for the first
# convolution alone, twice the whole torch twin's peak).
EVAL_BATCH, CNN_EVAL_BATCH = 10_000, 1_000


def eval_batch(network):
    """Images per forward pass when scoring `network` (of either twin)."""
    return CNN_EVAL_BATCH if getattr(network, "arch", None) is not None else EVAL_BATCH


class ModelError(ValueError):
    """A model that cannot be built: its convolutions shrink the image to nothing, or training
    it would not fit in memory."""


def arch(cfg):
    """The CNN's structure that its weights do not record (see nets.shapes.Arch)."""
    return Arch(DATASETS[cfg.dataset].image_shape, cfg.padding, cfg.stride, cfg.pool)


def init_params(cfg, seed=None, dtype=None):
    """He-initialised weights of cfg's model on cfg's data set (seed and dtype: cfg's unless
    given). ModelError if the CNN's convolutions shrink the image to nothing, or if training
    the network would not fit in this machine's memory (checked before allocating)."""
    seed, dtype = cfg.seed if seed is None else seed, dtype or cfg.dtype
    check_memory(cfg)
    if cfg.model == "cnn":
        params = cnn_np.init_params(arch(cfg), cfg.channels, cfg.kernel, cfg.hidden,
                                    DATASETS[cfg.dataset].n_classes, seed, dtype)
    else:
        params = mlp_np.init_params(cfg.sizes(), seed, dtype)
    if cfg.output_init == "zero":        # the output layer learns first, then the hidden units
        params[f"W{count_layers(params)[1]}"][...] = 0
    return with_batch_norm(params, dtype) if cfg.batch_norm else params


def build(twin, cfg, params):
    """twin's network of cfg's model (its loss, activation, dropout, a CNN's arch) holding
    copies of params."""
    return twin.build(params, cfg.loss, arch(cfg) if cfg.model == "cnn" else None,
                      cfg.activation, cfg.dropout)


def augmented(cfg):
    """'augmented', with the distortion where it is not the affine one: 'augmented (mirror)'."""
    return "augmented" + f" ({cfg.distortion})" * (cfg.distortion != "affine")


# the losses beyond cross-entropy, as describe and the tuning tables name them
LOSS_WORDS = {"mse": "MSE", "softmax_mse": "softmax MSE"}


def describe(cfg):
    """The model in a few words, e.g. 'MLP 784-1024-10' or 'CNN conv 8-16 5x5 (padding 2/0,
    pool 2), fc 128-10, batch norm, dropout 0.25'."""
    extras = [cfg.activation] if cfg.activation != "relu" else []
    extras += ["batch norm"] * cfg.batch_norm + [f"dropout {cfg.dropout:.10g}"] * (cfg.dropout > 0)
    extras += [f"{LOSS_WORDS[cfg.loss]} loss"] if cfg.loss in LOSS_WORDS else []
    extras += ["zero output layer"] * (cfg.output_init == "zero") + [augmented(cfg)] * cfg.augment
    said = "".join(f", {e}" for e in extras)
    if cfg.model == "cnn":
        fc = "-".join(map(str, (*cfg.hidden, DATASETS[cfg.dataset].n_classes)))
        return (f"CNN conv {'-'.join(map(str, cfg.channels))} {cfg.kernel}x{cfg.kernel} "
                f"(padding {'/'.join(map(str, cfg.padding))}, pool {cfg.pool}), fc {fc}{said}")
    kind = " (softmax regression)" if not cfg.hidden and cfg.loss == "ce" else ""
    return f"MLP {'-'.join(map(str, cfg.sizes()))}{kind}{said}"


def layer_shapes(cfg):
    """[(n_params, activations per image)] of each layer of cfg's model, without building it:
    a convolution's activations are its im2col columns and its output. ModelError if the
    convolutions shrink the image to nothing."""
    spec = DATASETS[cfg.dataset]
    layers, n_in = [], spec.n_inputs
    if cfg.model == "cnn":
        try:
            shapes = arch(cfg).conv_shapes(cfg.channels, cfg.kernel)
        except ValueError as e:
            raise ModelError(str(e))
        c_in, norm = 1, cfg.batch_norm       # batch norm: a weight per channel, its bias the conv's
        for (c, Ho, Wo), pooled in shapes:
            layers.append((c * c_in * cfg.kernel ** 2 + c + norm * c,
                           (c_in * cfg.kernel ** 2 + c) * Ho * Wo))
            c_in, n_in = c, pooled[0] * pooled[1] * pooled[2]
    for i, n_out in enumerate((*cfg.hidden, spec.n_classes), start=1):
        norm = n_out if cfg.batch_norm and i <= len(cfg.hidden) else 0
        layers.append((n_in * n_out + n_out + norm, n_out))
        n_in = n_out
    return layers


def n_params(cfg):
    """The number of weights and biases of cfg's model."""
    return sum(n for n, _ in layer_shapes(cfg))


def memory_needed(cfg):
    """Bytes that training cfg's model needs at its peak, roughly: every weight as itself, its
    gradient, the optimizer's state (Adam 2 copies, momentum 1), the weight average and its
    float64 draw at initialisation; the activations of a training batch (kept for backward,
    with their gradients) and of an evaluation batch (see eval_batch); and where --augment,
    the distortion's temporary arrays."""
    itemsize = 8 if cfg.dtype == "float64" else 4
    layers = layer_shapes(cfg)
    params = sum(n for n, _ in layers)
    copies = 2 + {"adam": 2, "adamw": 2, "momentum": 1}.get(cfg.optimizer, 0) + (cfg.ema > 0)
    activations = sum(a for _, a in layers)
    # --augment: the distortion's coordinates, indices and interpolated corners, about 17
    # arrays of a batch's pixels at once, 19 with the elastic field (tracemalloc's peak of
    # datasets.augment.augment: 65 and 73 bytes a pixel in float32, 122 and 138 in float64)
    pixels = DATASETS[cfg.dataset].n_inputs * cfg.batch_size * cfg.augment
    augmenting = pixels * (17 + 2 * (cfg.distortion == "elastic")) * itemsize
    return (params * (copies * itemsize + 8) + augmenting
            + activations * itemsize * (2 * cfg.batch_size + (CNN_EVAL_BATCH if cfg.model == "cnn"
                                                             else EVAL_BATCH)))


def batch_problem(cfg, n_train):
    """Why cfg's training cannot run its batches over n_train images, in one line, or None:
    a batch larger than the images, or a batch of one image (every batch at --batch-size 1,
    else the last when n_train leaves one over) where a batch norm would see one value per
    feature, which torch refuses ("Expected more than 1 value per channel") and the NumPy
    twin alike: a dense layer's, or a convolution's whose output is 1 x 1."""
    size = cfg.batch_size
    if size > n_train:
        return f"--batch-size {size} is larger than the {n_train} training images"
    if not cfg.batch_norm or min(size, n_train % size or size) > 1:
        return None
    convs = arch(cfg).conv_shapes(cfg.channels, cfg.kernel) if cfg.model == "cnn" else []
    if cfg.hidden or any(h * w == 1 for (_, h, w), _ in convs):
        which = ("every batch is" if size == 1 else
                 f"{n_train} training images leave a last batch of")
        return (f"--batch-norm needs 2 images or more in each batch, and at --batch-size "
                f"{size} {which} 1; choose another --batch-size")
    return None


def available_memory():
    """Bytes this machine can give without swapping (Linux's MemAvailable), or None."""
    try:
        with open("/proc/meminfo") as f:
            return int(next(line for line in f if line.startswith("MemAvailable")).split()[1]) \
                * 1024
    except (OSError, StopIteration, ValueError):
        return None


def check_memory(cfg):
    """ModelError, in one line, if training cfg's model would not fit in memory."""
    need, have = memory_needed(cfg), available_memory()
    if have is not None and need > have:
        raise ModelError(f"{describe(cfg)} has {n_params(cfg):,} parameters: training it needs "
                         f"about {need / 2 ** 30:,.1f} GiB of memory and this machine has "
                         f"{have / 2 ** 30:.1f} GiB available; choose a smaller network")
