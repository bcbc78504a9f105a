"""The same MLP in PyTorch: nn.Module, autograd, torch.optim. The twin of mlp_np.py.

Built from the same params dict as mlp_np.MLP ({"W1": (h_1, 784), "b1": (h_1,), ...}), so both
start from identical weights; W_i is (out, in), as nn.Linear stores its weight.
Shapes as in mlp_np.py: x (B, 784), y (B,), logits (B, 10). nn.Linear computes x W^T + b on
rows, where mlp_np computes W x + b on columns: the same numbers, each library's fast layout.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def loss_of(name, out, y, smoothing=0.0):
    """The training loss called `name` (as layers_np.LOSSES): ce, torch's cross-entropy with
    label smoothing; mse, F.mse_loss against the one-hot targets smoothed the same way."""
    if name == "mse":
        C = out.shape[1]
        targets = F.one_hot(y, C).to(out.dtype) * (1 - smoothing) + smoothing / C
        return F.mse_loss(out, targets)
    return F.cross_entropy(out, y, label_smoothing=smoothing)


class Network(nn.Module):
    """What every torch twin does once it has its layers and forward (the MLP below, the CNN of
    cnn_torch.py): named_weights() gives its tensors by the weights contract's names.
    x (B, D) holds one image per row; y (B,) the class ids."""

    def params(self):
        """The weights as a dict of NumPy arrays (copies), keys as the weights contract's."""
        return {k: w.detach().cpu().numpy().copy() for k, w in self.named_weights().items()}

    def asarray(self, a):
        """A NumPy array as a tensor on this model's device (no copy on the CPU)."""
        return torch.from_numpy(a).to(self.device)

    def logits(self, x):
        """x (B, D) -> logits (B, classes), without recording the graph."""
        with torch.no_grad():
            return self(x)

    def loss_and_grads(self, x, y, smoothing=0.0):
        """x (B, D), y (B,) -> (mean loss as a float, {name: gradient as NumPy}).
        smoothing: label smoothing of the targets (see layers_np.cross_entropy_forward)."""
        self.zero_grad(set_to_none=True)
        loss = loss_of(self.loss, self(torch.as_tensor(x, device=self.device)),
                       torch.as_tensor(y, device=self.device), smoothing)
        loss.backward()
        return loss.item(), {k: w.grad.cpu().numpy().copy()
                             for k, w in self.named_weights().items()}

    def train_step(self, x, y, optimizer, smoothing=0.0):
        """One step of minibatch training; returns the loss before the update (device scalar)."""
        loss = loss_of(self.loss, self(x), y, smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.detach()


class MLP(Network):
    """ReLU MLP built from a params dict (see mlp_np.init_params), trained with the loss called
    `loss` (see loss_of), on `device`."""

    def __init__(self, params, device="cpu", loss="ce"):
        super().__init__()
        self.device, self.loss = torch.device(device), loss
        self.n_layers = len(params) // 2
        self.layers = nn.ModuleList()
        for i in range(1, self.n_layers + 1):
            W, b = torch.from_numpy(params[f"W{i}"]), torch.from_numpy(params[f"b{i}"])
            layer = nn.Linear(W.shape[1], W.shape[0], dtype=W.dtype, device=self.device)
            with torch.no_grad():
                layer.weight.copy_(W)              # (n_out, n_in)
                layer.bias.copy_(b)                # (n_out,)
            self.layers.append(layer)

    def named_weights(self):
        """{"W1": layers[0].weight, "b1": layers[0].bias, ...}: the tensors, by contract name."""
        out = {}
        for i, layer in enumerate(self.layers, start=1):
            out[f"W{i}"], out[f"b{i}"] = layer.weight, layer.bias        # (n_out, n_in), (n_out,)
        return out

    def clone(self):
        """A new network with these weights (copies)."""
        return MLP(self.params(), self.device, self.loss)

    def forward(self, x):
        """x (B, 784) -> logits (B, 10)."""
        h = x
        for layer in self.layers[:-1]:
            h = F.relu(layer(h))
        return self.layers[-1](h)


class EMA:
    """An exponential moving average of a model's weights, kept as a model of its own to
    evaluate in place of the trained one (see mlp_np.EMA):  avg <- lerp(avg, p, 1 - decay)."""

    def __init__(self, model, average=None):
        self.model = model.clone()                      # the average, starting at the weights
        if average is not None:                         # or where a checkpoint left it
            with torch.no_grad():
                for name, w in self.model.named_weights().items():
                    w.copy_(torch.from_numpy(average[name]))

    @torch.no_grad()
    def update(self, model, decay):
        """Move the average towards model's current weights."""
        for avg, p in zip(self.model.parameters(), model.parameters()):
            avg.lerp_(p, 1 - decay)

    @torch.no_grad()
    def copy_to(self, model):
        """Make the average model's weights (what was evaluated is what is kept)."""
        for avg, p in zip(self.model.parameters(), model.parameters()):
            p.copy_(avg)


def make_optimizer(model, name, lr, momentum=0.9, weight_decay=0.0):
    """The optimizer called `name` (sgd, momentum, adam, adamw) over model's parameters."""
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


def optimizer_state(optimizer, model):
    """The optimizer's state in the checkpoint form (torch's own names, NumPy arrays keyed by
    weight name): Adam {"step": t, "exp_avg": {...}, "exp_avg_sq": {...}}; SGD with momentum
    {"momentum_buffer": {...}}; plain SGD {}."""
    out = {}
    for name, w in model.named_weights().items():
        for key, value in optimizer.state.get(w, {}).items():
            if key == "step":
                out["step"] = int(value)
            else:
                out.setdefault(key, {})[name] = value.detach().cpu().numpy().copy()
    return out


def load_optimizer_state(optimizer, model, state):
    """Continue from optimizer_state() of either twin."""
    for name, w in model.named_weights().items():
        entry = {key: torch.tensor(state[key][name], device=w.device)
                 for key in ("exp_avg", "exp_avg_sq", "momentum_buffer") if key in state}
        if "step" in state:
            entry["step"] = torch.tensor(float(state["step"]))
        optimizer.state[w] = entry


def set_lr(optimizer, lr):
    for group in optimizer.param_groups:
        group["lr"] = lr
