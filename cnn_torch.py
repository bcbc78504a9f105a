"""The same CNN in PyTorch: nn.Conv2d, nn.MaxPool2d, nn.Linear, autograd. The twin of cnn_np.py.

Built from the same params dict and Arch as cnn_np.CNN (C_j as nn.Conv2d.weight, W_i as
nn.Linear.weight), so both start from identical weights. Shapes as in cnn_np.py: x (B, H W),
y (B,), logits (B, classes); inside, torch's (B, C, H, W).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mlp_torch import Network


class CNN(Network):
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

    def named_weights(self):
        """{"C1": convs[0].weight, "c1": ..., "W1": layers[0].weight, ...}: by contract name."""
        out = {}
        for weight, bias, modules in (("C", "c", self.convs), ("W", "b", self.layers)):
            for i, m in enumerate(modules, start=1):
                out[f"{weight}{i}"], out[f"{bias}{i}"] = m.weight, m.bias
        return out

    def clone(self):
        """A new network with these weights (copies) and this structure."""
        return CNN(self.params(), self.arch, self.device, self.loss)

    def forward(self, x):
        """x (B, H W) -> logits (B, classes)."""
        h = x.view(x.shape[0], 1, *self.arch.image)                # (B, 1, H, W)
        for conv in self.convs:
            h = F.relu(self.pool(conv(h)))
        h = h.flatten(1)                                           # (B, c_n H_n W_n)
        for layer in self.layers[:-1]:
            h = F.relu(layer(h))
        return self.layers[-1](h)


@torch.no_grad()
def copy_into(module, weight, bias):
    module.weight.copy_(weight)
    module.bias.copy_(torch.from_numpy(bias))
