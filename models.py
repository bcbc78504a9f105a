"""The models both twins build, by --model: initial weights from a Config, and each twin's
network from weights. Importing this module imports no twin: the NumPy path never loads torch.

    mlp   mlp_np.MLP, mlp_torch.MLP    (n_inputs, *hidden, n_classes), ReLU
    cnn   cnn_np.CNN, cnn_torch.CNN    per convolution: conv, max-pool, ReLU; then the MLP head
"""
import data


def arch(cfg):
    """The CNN's structure that its weights do not record (see cnn_np.Arch)."""
    import cnn_np
    return cnn_np.Arch(data.DATASETS[cfg.dataset].image_shape, cfg.padding, cfg.stride, cfg.pool)


class ModelError(ValueError):
    """A model that cannot be built: its convolutions shrink the image to nothing, or training
    it would not fit in memory."""


def init_params(cfg, seed=None, dtype=None):
    """He-initialised weights of cfg's model on cfg's data set (seed and dtype: cfg's unless
    given). ModelError if the CNN's convolutions shrink the image to nothing, or if training
    the network would not fit in this machine's memory (checked before allocating)."""
    seed, dtype = cfg.seed if seed is None else seed, dtype or cfg.dtype
    check_memory(cfg)
    if cfg.model == "cnn":
        import cnn_np
        return cnn_np.init_params(arch(cfg), cfg.channels, cfg.kernel, cfg.hidden,
                                  data.DATASETS[cfg.dataset].n_classes, seed, dtype)
    import mlp_np
    return mlp_np.init_params(cfg.sizes(), seed, dtype)


def builder(twin_name, cfg, where):
    """build(params) -> the network of cfg's model in twin `twin_name` ("numpy" or "torch"),
    on `where`: the array module (numpy or cupy) for NumPy, the device for torch."""
    if twin_name == "numpy":
        if cfg.model == "cnn":
            import cnn_np
            return lambda params: cnn_np.CNN(params, arch(cfg), where, cfg.loss)
        import mlp_np
        return lambda params: mlp_np.MLP(params, where, cfg.loss)
    if cfg.model == "cnn":
        import cnn_torch
        return lambda params: cnn_torch.CNN(params, arch(cfg), where, cfg.loss)
    import mlp_torch
    return lambda params: mlp_torch.MLP(params, where, cfg.loss)


def describe(cfg):
    """The model in a few words, e.g. 'MLP 784-1024-10'."""
    loss = ", MSE loss" if cfg.loss == "mse" else ""
    if cfg.model == "cnn":
        fc = "-".join(map(str, (*cfg.hidden, data.DATASETS[cfg.dataset].n_classes)))
        return (f"CNN conv {'-'.join(map(str, cfg.channels))} {cfg.kernel}x{cfg.kernel} "
                f"(padding {'/'.join(map(str, cfg.padding))}, pool {cfg.pool}), fc {fc}{loss}")
    kind = " (softmax regression)" if not cfg.hidden and cfg.loss == "ce" else ""
    return f"MLP {'-'.join(map(str, cfg.sizes()))}{kind}{loss}"


def layer_shapes(cfg):
    """[(n_params, activations per image)] of each layer of cfg's model, without building it:
    a convolution's activations are its im2col columns and its output. ModelError if the
    convolutions shrink the image to nothing."""
    spec = data.DATASETS[cfg.dataset]
    layers, n_in = [], spec.n_inputs
    if cfg.model == "cnn":
        try:
            shapes = arch(cfg).feature_shapes(cfg.channels, cfg.kernel)
        except ValueError as e:
            raise ModelError(str(e))
        (H, W), c_in = spec.image_shape, 1
        for (c, Hp, Wp), p, s in zip(shapes, cfg.padding, cfg.stride):
            Ho, Wo = (H + 2 * p - cfg.kernel) // s + 1, (W + 2 * p - cfg.kernel) // s + 1
            layers.append((c * c_in * cfg.kernel ** 2 + c, (c_in * cfg.kernel ** 2 + c) * Ho * Wo))
            (H, W), c_in = (Hp, Wp), c
        n_in = c_in * H * W
    for n_out in (*cfg.hidden, spec.n_classes):
        layers.append((n_in * n_out + n_out, n_out))
        n_in = n_out
    return layers


def memory_needed(cfg):
    """Bytes that training cfg's model needs at its peak, roughly: every weight as itself, its
    gradient, the optimizer's state (Adam 2 copies, momentum 1), the weight average and its
    float64 draw at initialisation; and the activations of a training batch (kept for
    backward, with their gradients) and of an evaluation batch (train.EVAL_BATCH images)."""
    from train import EVAL_BATCH
    itemsize = 8 if cfg.dtype == "float64" else 4
    layers = layer_shapes(cfg)
    params = sum(n for n, _ in layers)
    copies = 2 + {"adam": 2, "adamw": 2, "momentum": 1}.get(cfg.optimizer, 0) + (cfg.ema > 0)
    activations = sum(a for _, a in layers)
    return (params * (copies * itemsize + 8)
            + activations * itemsize * (2 * cfg.batch_size + EVAL_BATCH))


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
        params = sum(n for n, _ in layer_shapes(cfg))
        raise ModelError(f"{describe(cfg)} has {params:,} parameters: training it needs about "
                         f"{need / 2 ** 30:,.1f} GiB of memory and this machine has "
                         f"{have / 2 ** 30:.1f} GiB available; choose a smaller network")
