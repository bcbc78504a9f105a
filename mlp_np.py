"""A multilayer perceptron written by hand in NumPy: forward, backward, optimizers.

    logits = W_L relu( ... relu( W_1 x + b_1 ) ... ) + b_L        loss = cross-entropy

Shapes, for a batch of B images and layer widths sizes = (784, h_1, ..., 10):
    x        (B, 784)          input pixels / 255, one row per image
    y        (B,)              class ids 0..9
    W_i      (n_i, n_{i-1})    weights of layer i (one row per output, as torch's nn.Linear)
    b_i      (n_i,)            biases of layer i
    logits   (B, 10)

Inside the network each image is a column: the layers take and give (n, B) arrays, as in the
textbook's z = W a + b, and MLP.forward turns x into x.T (a view, no copy) and the logits back.
Why columns: OpenBLAS runs the products of this layout faster. On the Intel Xeon of the README,
forward and backward took 5% less time than with one row per image (x W, W stored (n_in,
n_out)): the first layer's weight gradient is 7% faster, and the narrow product that carries
the gradient back from the 10 outputs twice as fast.

Its layers (linear, ReLU, cross-entropy) are the forward/backward pairs of layers_np.py:
`*_forward` returns its output and a cache of what the backward pass needs;
`*_backward(dout, cache)` takes the gradient of the loss with respect to that output and
returns the gradients with respect to its inputs and parameters.

The same code runs on the GPU through CuPy: every array function is taken from the array's own
module (`xp`), which is NumPy for NumPy arrays and CuPy for CuPy arrays. This file never
imports torch.
"""
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from layers_np import (LOSSES, array_module, linear_backward, linear_forward, relu_backward,
                       relu_forward)


def init_params(sizes, seed=0, dtype="float32"):
    """He initialisation: W_i ~ Normal(0, 2 / n_{i-1}), b_i = 0.

    The factor 2 keeps the variance of the activations constant through ReLU layers, which
    zero half their inputs (He et al., 2015). Drawn in float64 from one NumPy generator, then
    cast, so float32 and float64 runs start from the same weights up to rounding.
    Returns {"W1": (h_1, 784), "b1": (h_1,), ..., "WL": (10, h_{L-1}), "bL": (10,)}."""
    rng = np.random.default_rng(seed)
    params = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        # drawn in (n_in, n_out) order and transposed: a seed keeps giving the network that
        # tune.py's table was measured with, from before W was stored one row per output
        W = rng.standard_normal((n_in, n_out)).T * np.sqrt(2 / n_in)     # (n_out, n_in)
        params[f"W{i}"] = np.ascontiguousarray(W, dtype)
        params[f"b{i}"] = np.zeros(n_out, dtype)
    return params


# --- the network ---------------------------------------------------------------------------

class Network:
    """What every hand-written network does once it has forward and backward (the MLP below, the
    CNN of cnn_np.py). Its weights are self.weights, {name: array}, updated in place; self.xp is
    NumPy or CuPy, self.loss the name of its loss (layers_np.LOSSES). x (B, D) holds one image
    per row, as the data sets give them; y (B,) the class ids."""

    def params(self):
        """The weights as a dict of NumPy arrays (copies), keys as the weights contract's."""
        return {k: v.get() if hasattr(v, "get") else v.copy() for k, v in self.weights.items()}

    def asarray(self, a):
        """A NumPy array as this model's array type (a no-op for NumPy on the CPU)."""
        return self.xp.asarray(a)

    def logits(self, x):
        """x (B, D) -> logits (B, classes)."""
        return self.forward(x)[0]

    def loss_and_grads(self, x, y, smoothing=0.0):
        """x (B, D), y (B,) -> (mean loss as a float, {name: gradient}).
        smoothing: label smoothing of the targets (see layers_np.cross_entropy_forward)."""
        loss, grads = self.loss_and_grads_on_device(x, y, smoothing)
        return float(loss), {k: g.get() if hasattr(g, "get") else g for k, g in grads.items()}

    def loss_and_grads_on_device(self, x, y, smoothing=0.0):
        """As loss_and_grads, but the loss and gradients stay arrays of this model's module."""
        loss_forward, loss_backward = LOSSES[self.loss]
        logits, caches = self.forward(x)
        loss, loss_cache = loss_forward(logits, y, smoothing)
        return loss, self.backward(loss_backward(1.0, loss_cache), caches)

    def train_step(self, x, y, optimizer, smoothing=0.0):
        """One step of minibatch training; returns the loss before the update (device scalar)."""
        loss, grads = self.loss_and_grads_on_device(x, y, smoothing)
        optimizer.step(grads)
        return loss


class MLP(Network):
    """ReLU MLP built from a params dict (see init_params), trained with the loss called `loss`
    (layers_np.LOSSES: ce, the default, or mse); xp=cupy keeps it on the GPU. No hidden layer
    (params W1, b1 alone) is softmax regression."""

    def __init__(self, params, xp=np, loss="ce"):
        self.xp, self.loss = xp, loss
        self.n_layers = len(params) // 2
        self.weights = {k: xp.array(v) for k, v in params.items()}  # own copies, updated in place

    def clone(self):
        """A new network with these weights (copies)."""
        return MLP(self.params(), self.xp, self.loss)

    def forward(self, x):
        """x (B, 784) -> logits (B, 10), caches (one per layer, for backward)."""
        caches = []
        h = x.T                                   # (784, B): one column per image
        for i in range(1, self.n_layers + 1):
            h, linear_cache = linear_forward(h, self.weights[f"W{i}"], self.weights[f"b{i}"])
            relu_cache = None
            if i < self.n_layers:                 # the last layer's output is the logits
                h, relu_cache = relu_forward(h)
            caches.append((linear_cache, relu_cache))
        return h.T, caches                        # (B, 10)

    def backward(self, dlogits, caches):
        """dlogits (B, 10) -> {"W1": dW1, "b1": db1, ...}, same shapes as the weights."""
        grads = {}
        dout = dlogits.T                          # (10, B)
        for i in range(self.n_layers, 0, -1):
            linear_cache, relu_cache = caches[i - 1]
            if relu_cache is not None:
                dout = relu_backward(dout, relu_cache)
            dout, grads[f"W{i}"], grads[f"b{i}"] = linear_backward(dout, linear_cache,
                                                                   need_dx=i > 1)
        return grads


# --- optimizers (torch.optim's exact update rules, in place) ---------------------------------

# The optimizers' elementwise maths on the big weight matrices runs on row blocks, one per
# thread: NumPy releases the GIL inside ufuncs, so it uses every core, as torch's kernels do.
# The calling thread takes the first block itself, as OpenBLAS's caller does: measured in the
# training loop, waking one pool thread instead of two made the NumPy step about 7% faster.
# (The matrix products are already multithreaded by BLAS.)
_pool, _threads = None, 1
PARALLEL_MIN_SIZE = 1 << 16        # smaller arrays: the threads would cost more than they save


def set_num_threads(n):
    """Threads for the optimizers' elementwise updates, as torch.set_num_threads."""
    global _pool, _threads
    if n != _threads:
        if _pool is not None:
            _pool.shutdown()
        _pool, _threads = (ThreadPoolExecutor(n - 1) if n > 1 else None), n


def by_row_blocks(update, *arrays):
    """update(*arrays), split into row blocks across the threads (NumPy arrays only)."""
    rows = arrays[0].shape[0]
    if _pool is None or arrays[0].size < PARALLEL_MIN_SIZE or not isinstance(arrays[0], np.ndarray):
        return update(*arrays)
    edges = np.linspace(0, rows, _threads + 1).astype(int)
    first, *others = [[a[lo:hi] for a in arrays] for lo, hi in zip(edges[:-1], edges[1:])]
    running = [_pool.submit(update, *block) for block in others]
    try:
        update(*first)
    finally:
        for done in running:
            done.result()


class SGD:
    """torch.optim.SGD (dampening 0, no Nesterov):
        g <- g + weight_decay * p
        buf <- momentum * buf + g        (if momentum > 0; buf starts at 0, so the first step
                                          gives buf = g exactly, as torch's buffer does)
        p <- p - lr * buf   (or lr * g without momentum)"""

    def __init__(self, weights, lr, momentum=0.0, weight_decay=0.0):
        self.weights, self.lr, self.momentum, self.weight_decay = weights, lr, momentum, weight_decay
        self.buffers = {k: array_module(p).zeros_like(p) for k, p in weights.items()} \
            if momentum else {}                    # name -> momentum buffer, shape of the weight

    def step(self, grads):
        """Update the weights in place. The grads are consumed (used as scratch)."""
        for name, p in self.weights.items():
            buffer = (self.buffers[name],) if self.momentum else ()
            by_row_blocks(self.update, p, grads[name], *buffer)

    def update(self, p, g, buf=None):
        """One block of one weight: p, g and buf all have the same shape."""
        if self.weight_decay:
            g += self.weight_decay * p
        if buf is not None:
            buf *= self.momentum
            buf += g
            g = array_module(g).multiply(buf, -self.lr, out=g)
        else:
            g *= -self.lr
        p += g

    def state(self):
        """The state in torch's form: {"momentum_buffer": {name: buffer}} (none without
        momentum)."""
        return {"momentum_buffer": self.buffers} if self.momentum else {}

    def load_state(self, state):
        """Continue from state() of either twin (NumPy arrays)."""
        for name, buf in self.buffers.items():
            buf[...] = array_module(buf).asarray(state["momentum_buffer"][name])


def flush_subnormals(a):
    """Set the entries of `a` too small for a normal float (|a| < finfo.tiny) to 0, in place.

    Intel CPUs take a microcode assist, about 100 times slower, for every operation on a
    subnormal float. Adam's first moment m of a weight whose gradient stays 0 (a border pixel
    that no image in the batch lights, a dead hidden unit) shrinks by beta1 every step and spends
    about 150 steps in the subnormal range before it reaches 0. Measured on a Xeon: by epoch 4
    of the default run 4% of W1's m was subnormal and a NumPy epoch took 45% longer. torch sets
    the CPU's flush-to-zero mode instead (torch.set_flush_denormal, see cli.load_twin); NumPy
    has no such switch, so the moments are flushed here."""
    xp = array_module(a)
    a[xp.abs(a) < xp.finfo(a.dtype).tiny] = 0


class Adam:
    """torch.optim.Adam / AdamW (amsgrad off), step t = 1, 2, ...:
        p <- p * (1 - lr * weight_decay)                    (AdamW: decoupled decay)
        g <- g + weight_decay * p                           (Adam: L2 through the gradient)
        m <- beta1 m + (1 - beta1) g
        v <- beta2 v + (1 - beta2) g^2
        p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    m and v are torch's exp_avg and exp_avg_sq, so a checkpoint holds the same numbers whichever
    twin wrote it. The moments take seven passes over the weights, the gradient serving as
    scratch ((1 - beta1) g, then its square scaled to (1 - beta2) g^2; the shorter
    m <- beta1 (m - g) + g cancels catastrophically in float32 when beta is near 1), and the
    update five: with s = sqrt(1 - beta2^t),
        p <- p - a * m / (sqrt(v) + eps s),   a = lr s / (1 - beta1^t)
    The same numbers as torch's update up to rounding. Every FLUSH_EVERY steps, subnormal
    entries of m are set to 0 (see flush_subnormals): a change below 1e-38 in m, which a
    subnormal would otherwise make a hundred times slower."""

    FLUSH_EVERY = 8      # a flush costs 3 passes over m; an entry stays subnormal ~150 steps

    def __init__(self, weights, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled=False):
        self.weights, self.lr, self.betas, self.eps = weights, lr, betas, eps
        self.weight_decay, self.decoupled = weight_decay, decoupled
        self.t = 0
        zeros = lambda: {k: array_module(p).zeros_like(p) for k, p in weights.items()}
        self.m, self.v = zeros(), zeros()          # the moments, each the shape of its weight

    def step(self, grads):
        """Update the weights in place. The grads are consumed (used as scratch)."""
        beta1, beta2 = self.betas
        self.t += 1
        s = (1 - beta2 ** self.t) ** 0.5
        self.step_size = self.lr * s / (1 - beta1 ** self.t)
        self.eps_s = self.eps * s
        for name, p in self.weights.items():
            by_row_blocks(self.update, p, grads[name], self.m[name], self.v[name])

    def update(self, p, g, m, v):
        """One block of one weight: p, g, m and v all have the same shape."""
        xp = array_module(p)
        beta1, beta2 = self.betas
        if self.weight_decay and self.decoupled:
            p *= 1 - self.lr * self.weight_decay
        elif self.weight_decay:
            g += self.weight_decay * p
        m *= beta1
        v *= beta2
        g *= 1 - beta1
        m += g                                     # beta1 m + (1 - beta1) g
        if self.t % self.FLUSH_EVERY == 0:
            flush_subnormals(m)
        g *= g
        g *= (1 - beta2) / (1 - beta1) ** 2
        v += g                                     # beta2 v + (1 - beta2) g^2; g is free now
        update = xp.sqrt(v, out=g)
        update += self.eps_s
        update = xp.divide(m, update, out=update)
        update *= -self.step_size
        p += update

    def state(self):
        """The state in torch's form: {"step": t, "exp_avg": {name: m}, "exp_avg_sq": {...}}."""
        return {"step": self.t, "exp_avg": self.m, "exp_avg_sq": self.v}

    def load_state(self, state):
        """Continue from state() of either twin (NumPy arrays), as torch's load_state_dict."""
        self.t = int(state["step"])
        for name, p in self.weights.items():
            self.m[name][...] = array_module(p).asarray(state["exp_avg"][name])
            self.v[name][...] = array_module(p).asarray(state["exp_avg_sq"][name])


class EMA:
    """An exponential moving average of a model's weights (Polyak averaging), kept as a model
    of its own to evaluate in place of the trained one. At each update (the training loop
    makes one every config.EMA_EVERY steps, with the decay of that many steps):
        avg <- avg + (1 - decay) (p - avg)          (torch's lerp)
    computed as avg <- p + decay (avg - p): three passes in place over two arrays, where the
    form above needs a scratch array as well (measured: 15% faster, as a pass that writes to a
    third array costs more than one in place). Adam's last steps jitter the weights around a
    minimum; their average sits closer to it, so the averaged model scores better while the
    learning rate is still high."""

    def __init__(self, model, average=None):
        self.model = model.clone()                      # the average, starting at the weights
        if average is not None:                         # or where a checkpoint left it
            for name, w in self.model.weights.items():
                w[...] = self.model.asarray(average[name])

    def update(self, model, decay):
        """Move the average towards model's current weights."""
        self.decay = decay
        for name, p in model.weights.items():
            by_row_blocks(self.lerp, self.model.weights[name], p)

    def lerp(self, avg, p):
        """One block of one weight: avg and p have the same shape."""
        avg -= p
        avg *= self.decay
        avg += p

    def copy_to(self, model):
        """Make the average model's weights (what was evaluated is what is kept)."""
        for name, p in model.weights.items():
            p[...] = self.model.weights[name]


def make_optimizer(model, name, lr, momentum=0.9, weight_decay=0.0):
    """The optimizer called `name` (sgd, momentum, adam, adamw) over model's weights."""
    if name == "sgd":
        return SGD(model.weights, lr, 0.0, weight_decay)
    if name == "momentum":
        return SGD(model.weights, lr, momentum, weight_decay)
    if name in ("adam", "adamw"):
        return Adam(model.weights, lr, weight_decay=weight_decay, decoupled=name == "adamw")
    raise ValueError(f"unknown optimizer {name!r}")


def optimizer_state(optimizer, model):
    """The optimizer's state in the checkpoint form (torch's names, NumPy arrays keyed by weight
    name): Adam {"step": t, "exp_avg": {...}, "exp_avg_sq": {...}}; SGD with momentum
    {"momentum_buffer": {...}}; plain SGD {}. model: unused here, as the NumPy optimizers keep
    the weights' names themselves (mlp_torch's needs it)."""
    as_numpy = lambda a: a.get() if hasattr(a, "get") else a.copy()
    return {key: {name: as_numpy(a) for name, a in value.items()} if isinstance(value, dict)
            else value for key, value in optimizer.state().items()}


def load_optimizer_state(optimizer, model, state):
    """Continue from optimizer_state() of either twin."""
    optimizer.load_state(state)


def set_lr(optimizer, lr):
    optimizer.lr = lr
