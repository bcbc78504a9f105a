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


def init_params(cfg, seed=None, dtype=None):
    """He-initialised weights of cfg's model on cfg's data set (seed and dtype: cfg's unless
    given). ValueError if the CNN's convolutions shrink the image to nothing."""
    seed, dtype = cfg.seed if seed is None else seed, dtype or cfg.dtype
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
