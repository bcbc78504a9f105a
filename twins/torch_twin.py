"""The PyTorch twin: the same networks as nn.Modules (mlp_torch.py, nets/cnn_torch.py), autograd,
and torch.optim, on the CPU or a CUDA GPU."""
import numpy as np
import torch

import mlp_torch
from nets import cnn_torch
from nets.dense_torch import Dense
from nets.losses_torch import LOSSES
from nets.shapes import split_buffers
from twins.base import Twin, TwinError


class TorchTwin(Twin):
    """The twin interface (see twins/__init__.py) for torch. A network's params are its
    nn.Parameters by contract name."""
    name = "torch"

    def __init__(self, device="cpu"):
        if device == "cuda":
            if not torch.cuda.is_available():
                raise TwinError("--device cuda: torch sees no CUDA GPU on this machine; use "
                                "--device cpu")
            # Full float32 matrix products, not TF32, so the twins can be held side by side.
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
        self.device = device

    def build(self, params, loss="ce", arch=None, activation="relu", dropout=0.0):
        own, buffers = split_buffers({k: self.asarray(v) for k, v in params.items()})
        if "C1" in params:
            return cnn_torch.CNN(own, arch, loss, buffers, activation, dropout)
        if buffers or activation != "relu" or dropout:
            return Dense(own, buffers, loss, activation, dropout)
        return mlp_torch.MLP(own, loss)

    def buffers(self, model):
        return getattr(model, "buffer_tensors", {})

    def asarray(self, a):
        """A NumPy array as a tensor on this twin's device (no copy on the CPU)."""
        return torch.from_numpy(a).to(self.device)

    def to_numpy(self, a):
        """A tensor (any device) as a NumPy array (a NumPy array as itself)."""
        return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)

    def logits(self, model, x):
        """Without recording the graph."""
        model.eval()
        with torch.no_grad():
            return model(x)

    def loss_and_grads(self, model, x, y, smoothing=0.0, masks=None, training=True):
        model.train(training)
        model.zero_grad(set_to_none=True)
        x = torch.as_tensor(x, device=self.device)
        out = model(x) if masks is None else model(x, [self.asarray(m) for m in masks])
        loss = LOSSES[model.loss](out, torch.as_tensor(y, device=self.device), smoothing)
        loss.backward()
        return loss.item(), {k: self.to_numpy(w.grad).copy() for k, w in model.params.items()}

    def train_step(self, model, x, y, optimizer, smoothing=0.0, masks=None):
        model.train()
        loss = LOSSES[model.loss](model(x) if masks is None else model(x, masks), y, smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.detach()

    def optimizer(self, model, name, lr, momentum=0.9, weight_decay=0.0):
        """The torch.optim optimizer called `name` (sgd, momentum, adam, adamw)."""
        if name == "sgd":
            return torch.optim.SGD(model.parameters(), lr, weight_decay=weight_decay)
        if name == "momentum":
            return torch.optim.SGD(model.parameters(), lr, momentum=momentum,
                                   weight_decay=weight_decay)
        if name == "adam":
            return torch.optim.Adam(model.parameters(), lr, weight_decay=weight_decay)
        if name == "adamw":
            return torch.optim.AdamW(model.parameters(), lr, weight_decay=weight_decay)
        raise ValueError(f"unknown optimizer {name!r}")

    def set_lr(self, optimizer, lr):
        for group in optimizer.param_groups:
            group["lr"] = lr

    def average(self, model, average=None):
        """The weight average of model (EMA below), starting at its weights or at `average`."""
        return EMA(self.clone(model), average)

    def optimizer_state(self, optimizer, model):
        """The optimizer's state in the checkpoint form (torch's own names, NumPy arrays keyed
        by weight name): Adam {"step": t, "exp_avg": {...}, "exp_avg_sq": {...}}; SGD with
        momentum {"momentum_buffer": {...}}; plain SGD {}."""
        out = {}
        for name, w in model.params.items():
            for key, value in optimizer.state.get(w, {}).items():
                if key == "step":
                    out["step"] = int(value)
                else:
                    out.setdefault(key, {})[name] = self.to_numpy(value).copy()
        return out

    def load_optimizer_state(self, optimizer, model, state):
        """Continue from optimizer_state() of either twin."""
        for name, w in model.params.items():
            entry = {key: torch.tensor(state[key][name], device=w.device)
                     for key in ("exp_avg", "exp_avg_sq", "momentum_buffer") if key in state}
            if "step" in state:
                entry["step"] = torch.tensor(float(state["step"]))
            optimizer.state[w] = entry


class EMA:
    """An exponential moving average of a network's weights, kept as a network of its own
    (`model`, a clone) to evaluate in place of the trained one (see optim_np.EMA):
    avg <- lerp(avg, p, 1 - decay)."""

    def __init__(self, model, average=None):
        self.model = model
        if average is not None:
            with torch.no_grad():
                for name, w in {**model.params, **getattr(model, "buffer_tensors", {})}.items():
                    w.copy_(torch.from_numpy(average[name]))

    @torch.no_grad()
    def update(self, model, decay):
        """Move the average towards model's current weights and batch norm statistics (its
        batch count copied)."""
        for avg, p in zip(self.model.parameters(), model.parameters()):
            avg.lerp_(p, 1 - decay)
        for avg, b in zip(self.model.buffers(), model.buffers()):
            avg.lerp_(b, 1 - decay) if avg.is_floating_point() else avg.copy_(b)

    @torch.no_grad()
    def copy_to(self, model):
        """Make the average model's weights (what was evaluated is what is kept)."""
        for avg, p in zip(self.model.state_dict().values(), model.state_dict().values()):
            p.copy_(avg)
