"""The same CNN in PyTorch: nn.Conv2d, nn.MaxPool2d, nn.Linear, autograd. The twin of cnn_np.py.

Built from the same params dict and Arch as cnn_np.CNN (C_j as nn.Conv2d.weight, W_i as
nn.Linear.weight), so both start from identical weights. Shapes as in cnn_np.py: x (B, H W),
y (B,), logits (B, classes); inside, torch's (B, C, H, W).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mlp_torch import loss_of


class CNN(nn.Module):
    """The network of `params` (see cnn_np.init_params) and `arch`, trained with the loss called
    `loss` (see mlp_torch.loss_of), on `device`."""

    def __init__(self, params, arch, device="cpu", loss="ce"):
        super().__init__()
        self.arch, self.device, self.loss = arch, torch.device(device), loss
        self.convs, self.layers = nn.ModuleList(), nn.ModuleList()
        for j in range(1, sum(1 for k in params if k.startswith("C")) + 1):
            C = torch.from_numpy(params[f"C{j}"])                  # (c_out, c_in, k, k)
            conv = nn.Conv2d(C.shape[1], C.shape[0], C.shape[2], arch.stride[j - 1],
                             arch.padding[j - 1], dtype=C.dtype, device=self.device)
            copy_into(conv, C, params[f"c{j}"])
            self.convs.append(conv)
        self.pool = nn.MaxPool2d(arch.pool)
        for i in range(1, sum(1 for k in params if k.startswith("W")) + 1):
            W = torch.from_numpy(params[f"W{i}"])                  # (n_out, n_in)
            layer = nn.Linear(W.shape[1], W.shape[0], dtype=W.dtype, device=self.device)
            copy_into(layer, W, params[f"b{i}"])
            self.layers.append(layer)

    def params(self):
        """The weights as a dict of NumPy arrays (copies), keys C1, c1, ..., W1, b1, ..."""
        out = {}
        for weight, bias, modules in (("C", "c", self.convs), ("W", "b", self.layers)):
            for i, m in enumerate(modules, start=1):
                out[f"{weight}{i}"] = m.weight.detach().cpu().numpy().copy()
                out[f"{bias}{i}"] = m.bias.detach().cpu().numpy().copy()
        return out

    def clone(self):
        """A new network with these weights (copies) and this structure."""
        return CNN(self.params(), self.arch, self.device, self.loss)

    def asarray(self, a):
        """A NumPy array as a tensor on this model's device (no copy on the CPU)."""
        return torch.from_numpy(a).to(self.device)

    def forward(self, x):
        """x (B, H W) -> logits (B, classes)."""
        h = x.view(x.shape[0], 1, *self.arch.image)                # (B, 1, H, W)
        for conv in self.convs:
            h = F.relu(self.pool(conv(h)))
        h = h.flatten(1)                                           # (B, c_n H_n W_n)
        for layer in self.layers[:-1]:
            h = F.relu(layer(h))
        return self.layers[-1](h)

    def logits(self, x):
        """x (B, H W) -> logits (B, classes), without recording the graph."""
        with torch.no_grad():
            return self(x)

    def loss_and_grads(self, x, y, smoothing=0.0):
        """x (B, H W), y (B,) -> (mean loss as a float, {name: gradient as NumPy})."""
        self.zero_grad(set_to_none=True)
        loss = loss_of(self.loss, self(torch.as_tensor(x, device=self.device)),
                       torch.as_tensor(y, device=self.device), smoothing)
        loss.backward()
        grads = {}
        for weight, bias, modules in (("C", "c", self.convs), ("W", "b", self.layers)):
            for i, m in enumerate(modules, start=1):
                grads[f"{weight}{i}"] = m.weight.grad.cpu().numpy().copy()
                grads[f"{bias}{i}"] = m.bias.grad.cpu().numpy().copy()
        return loss.item(), grads

    def train_step(self, x, y, optimizer, smoothing=0.0):
        """One step of minibatch training; returns the loss before the update (device scalar)."""
        loss = loss_of(self.loss, self(x), y, smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.detach()


@torch.no_grad()
def copy_into(module, weight, bias):
    module.weight.copy_(weight)
    module.bias.copy_(torch.from_numpy(bias))
