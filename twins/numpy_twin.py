"""The NumPy twin: the networks written by hand (mlp_np.py, nets/cnn_np.py) and the optimizers
written by hand (twins/optim_np.py), on the CPU, or on the GPU through CuPy, whose arrays the
same code runs on (NumPy's functions hand CuPy arrays to CuPy). Never imports torch."""
import numpy as np

import mlp_np
from nets import cnn_np
from nets.dense_np import Dense
from nets.losses_np import LOSSES
from nets.shapes import split_buffers
from twins import optim_np
from twins.base import Twin, TwinError


class NumpyTwin(Twin):
    """The twin interface (see twins/__init__.py) for the networks written by hand. A network's
    params are arrays of this twin's module (NumPy, or CuPy on the GPU), updated in place."""
    name = "numpy"

    def __init__(self, device="cpu"):
        self.device = device
        self.xp = cupy_or_error() if device == "cuda" else np

    def build(self, params, loss="ce", arch=None, activation="relu", dropout=0.0):
        own, buffers = split_buffers({k: self.xp.array(v) for k, v in params.items()})
        if "C1" in params:
            return cnn_np.CNN(own, arch, loss, buffers, activation, dropout)
        if buffers or activation != "relu" or dropout:
            return Dense(own, buffers, loss, activation, dropout)
        return mlp_np.MLP(own, loss)

    def buffers(self, model):
        return getattr(model, "buffers", {})

    def asarray(self, a):
        """A NumPy array as this twin's array (no copy on the CPU)."""
        return self.xp.asarray(a)

    def to_numpy(self, a):
        """This twin's array as a NumPy array (CuPy's copied back from the GPU)."""
        return a.get() if hasattr(a, "get") else np.asarray(a)

    def logits(self, model, x):
        model.training = False
        return model.forward(x)[0]

    def loss_and_grads(self, model, x, y, smoothing=0.0, masks=None, training=True):
        masks = masks if masks is None else [self.asarray(m) for m in masks]
        loss, grads = self.loss_and_grads_on_device(model, self.asarray(x), self.asarray(y),
                                                    smoothing, masks, training)
        return float(loss), {k: self.to_numpy(g) for k, g in grads.items()}

    def loss_and_grads_on_device(self, model, x, y, smoothing=0.0, masks=None, training=True):
        """As loss_and_grads, with everything on this twin's device: forward, the loss and its
        gradient, backward."""
        loss_forward, loss_backward = LOSSES[model.loss]
        model.training = training
        logits, caches = model.forward(x) if masks is None else model.forward(x, masks)
        loss, loss_cache = loss_forward(logits, y, smoothing)
        grads, _ = model.backward(loss_backward(1.0, loss_cache), caches)
        return loss, grads

    def train_step(self, model, x, y, optimizer, smoothing=0.0, masks=None):
        loss, grads = self.loss_and_grads_on_device(model, x, y, smoothing, masks)
        optimizer.step(grads)
        return loss

    def optimizer(self, model, name, lr, momentum=0.9, weight_decay=0.0):
        """The optimizer called `name` (sgd, momentum, adam, adamw) over model's params."""
        if name == "sgd":
            return optim_np.SGD(model.params, lr, 0.0, weight_decay)
        if name == "momentum":
            return optim_np.SGD(model.params, lr, momentum, weight_decay)
        if name in ("adam", "adamw"):
            return optim_np.Adam(model.params, lr, weight_decay=weight_decay,
                                 decoupled=name == "adamw")
        raise ValueError(f"unknown optimizer {name!r}")

    def set_lr(self, optimizer, lr):
        optimizer.lr = lr

    def average(self, model, average=None):
        """The weight average of model (optim_np.EMA), starting at its weights or at `average`
        ({name: NumPy array}, from a checkpoint)."""
        return optim_np.EMA(self.clone(model), average)

    def optimizer_state(self, optimizer, model):
        """The optimizer's state in the checkpoint form (torch's names, NumPy arrays keyed by
        weight name): Adam {"step": t, "exp_avg": {...}, "exp_avg_sq": {...}}; SGD with
        momentum {"momentum_buffer": {...}}; plain SGD {}."""
        return {key: {name: self.to_numpy(a).copy() for name, a in value.items()}
                if isinstance(value, dict) else value for key, value in optimizer.state().items()}

    def load_optimizer_state(self, optimizer, model, state):
        """Continue from optimizer_state() of either twin."""
        optimizer.load_state(state)


def cupy_or_error():
    """CuPy, or TwinError saying why the NumPy twin cannot run on the GPU."""
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() < 1:
            raise TwinError("--device cuda: CuPy sees no CUDA GPU on this machine")
    except ImportError:
        raise TwinError("--device cuda: the NumPy twin needs CuPy on the GPU (pip install "
                        "cupy-cuda12x), which is not installed")
    except Exception as e:
        if isinstance(e, TwinError):
            raise
        raise TwinError(f"--device cuda: CuPy cannot reach a GPU ({e})")
    return cupy
