"""The optimizers and the weight average of the NumPy twin, by hand: torch.optim's exact
update rules, in place on the network's params, each elementwise update split into row blocks
across threads (nets/threads.py).
"""
import numpy as np

from nets.threads import by_row_blocks


def to_like(a, like):
    """A NumPy array as an array of `like`'s module (a no-op for NumPy; CuPy copies it over)."""
    return np.asarray(a, like=like)


class SGD:
    """torch.optim.SGD (dampening 0, no Nesterov):
        g <- g + weight_decay * p
        buf <- momentum * buf + g        (if momentum > 0; buf starts at 0, so the first step
                                          gives buf = g exactly, as torch's buffer does)
        p <- p - lr * buf   (or lr * g without momentum)"""

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        self.params, self.lr, self.momentum, self.weight_decay = params, lr, momentum, weight_decay
        self.buffers = {k: np.zeros_like(p) for k, p in params.items()} \
            if momentum else {}                    # name -> momentum buffer, shape of the weight

    def step(self, grads):
        """Update the weights in place. The grads are consumed (used as scratch)."""
        for name, p in self.params.items():
            buffer = (self.buffers[name],) if self.momentum else ()
            by_row_blocks(self.update, p, grads[name], *buffer)

    def update(self, p, g, buf=None):
        """One block of one weight: p, g and buf all have the same shape."""
        if self.weight_decay:
            g += self.weight_decay * p
        if buf is not None:
            buf *= self.momentum
            buf += g
            g = np.multiply(buf, -self.lr, out=g)
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
            buf[...] = to_like(state["momentum_buffer"][name], buf)


def flush_subnormals(a):
    """Set the entries of `a` too small for a normal float (|a| < finfo.tiny) to 0, in place.

    Intel CPUs take a microcode assist, about 100 times slower, for every operation on a
    subnormal float. Adam's first moment m of a weight whose gradient stays 0 (a border pixel
    that no image in the batch lights, a dead hidden unit) shrinks by beta1 every step and spends
    about 150 steps in the subnormal range before it reaches 0. Measured on a Xeon: by epoch 4
    of the default run 4% of W1's m was subnormal and a NumPy epoch took 45% longer. torch sets
    the CPU's flush-to-zero mode instead (torch.set_flush_denormal, see twins/torch_twin.py); NumPy
    has no such switch, so the moments are flushed here."""
    a[np.abs(a) < np.finfo(a.dtype).tiny] = 0


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

    def __init__(self, params, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled=False):
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.weight_decay, self.decoupled = weight_decay, decoupled
        self.t = 0
        zeros = lambda: {k: np.zeros_like(p) for k, p in params.items()}
        self.m, self.v = zeros(), zeros()          # the moments, each the shape of its weight

    def step(self, grads):
        """Update the weights in place. The grads are consumed (used as scratch)."""
        beta1, beta2 = self.betas
        self.t += 1
        s = (1 - beta2 ** self.t) ** 0.5
        self.step_size = self.lr * s / (1 - beta1 ** self.t)
        self.eps_s = self.eps * s
        for name, p in self.params.items():
            by_row_blocks(self.update, p, grads[name], self.m[name], self.v[name])

    def update(self, p, g, m, v):
        """One block of one weight: p, g, m and v all have the same shape."""
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
        update = np.sqrt(v, out=g)
        update += self.eps_s
        update = np.divide(m, update, out=update)
        update *= -self.step_size
        p += update

    def state(self):
        """The state in torch's form: {"step": t, "exp_avg": {name: m}, "exp_avg_sq": {...}}."""
        return {"step": self.t, "exp_avg": self.m, "exp_avg_sq": self.v}

    def load_state(self, state):
        """Continue from state() of either twin (NumPy arrays), as torch's load_state_dict."""
        self.t = int(state["step"])
        for name, p in self.params.items():
            self.m[name][...] = to_like(state["exp_avg"][name], p)
            self.v[name][...] = to_like(state["exp_avg_sq"][name], p)


class EMA:
    """An exponential moving average of a network's params (Polyak averaging), kept as a network
    of its own (`model`, a clone) to evaluate in place of the trained one. At each update (the
    training loop makes one every training.schedule.EMA_EVERY steps, with the decay of that many
    steps):
        avg <- avg + (1 - decay) (p - avg)          (torch's lerp)
    computed as avg <- p + decay (avg - p): three passes in place over two arrays, where the
    form above needs a scratch array as well (measured: 15% faster, as a pass that writes to a
    third array costs more than one in place). Adam's last steps jitter the weights around a
    minimum; their average sits closer to it, so the averaged network scores better while the
    learning rate is still high."""

    def __init__(self, model, average=None):
        self.model = model                              # a clone: the average, from the weights
        if average is not None:                         # or where a checkpoint left it
            for name, w in {**model.params, **getattr(model, "buffers", {})}.items():
                w[...] = to_like(average[name], w)

    def update(self, model, decay):
        """Move the average towards model's current params and batch norm statistics (its
        batch count copied)."""
        self.decay = decay
        for name, p in model.params.items():
            by_row_blocks(self.lerp, self.model.params[name], p)
        for name, b in getattr(model, "buffers", {}).items():
            avg = self.model.buffers[name]
            self.lerp(avg, b) if avg.dtype.kind == "f" else np.copyto(avg, b)

    def lerp(self, avg, p):
        """One block of one weight: avg and p have the same shape."""
        avg -= p
        avg *= self.decay
        avg += p

    def copy_to(self, model):
        """Make the average model's params (what was evaluated is what is kept)."""
        for name, p in {**model.params, **getattr(model, "buffers", {})}.items():
            p[...] = {**self.model.params, **getattr(self.model, "buffers", {})}[name]
