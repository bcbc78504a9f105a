"""The same CNN in PyTorch: nn.Conv2d, nn.MaxPool2d, then the MLP of mlp_torch.py as its head;
autograd for the backward pass. The twin of cnn_np.py.

Built from the same params and Arch as cnn_np.CNN (C_j as nn.Conv2d.weight, W_i as
nn.Linear.weight), so both start from identical weights. Shapes as in cnn_np.py: x (B, H W),
y (B,), logits (B, classes); inside, torch's (B, C, H, W).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mlp_torch import MLP
from nets.shapes import count_layers


class CNN(nn.Module):
    """The network of params (tensors; see cnn_np.init_params) and arch, trained with the loss
    called `loss` (nets.layers_torch.LOSSES). Its layers start as copies of the tensors."""

    def __init__(self, params, arch, loss="ce"):
        super().__init__()
        self.arch, self.loss = arch, loss
        n_convs, _ = count_layers(params)
        self.convs = nn.ModuleList(conv_layer(params[f"C{j}"], params[f"c{j}"],
                                              arch.stride[j - 1], arch.padding[j - 1])
                                   for j in range(1, n_convs + 1))
        self.pool = nn.MaxPool2d(arch.pool)
        self.head = MLP({k: v for k, v in params.items() if k[0] in "Wb"}, loss)

    def forward(self, x):
        """x (B, H W) -> logits (B, classes)."""
        a = x.view(x.shape[0], 1, *self.arch.image)                # (B, 1, H, W)
        for conv in self.convs:
            a = F.relu(self.pool(conv(a)))                         # (B, c_j, H_j, W_j)
        return self.head(a.flatten(1))                             # (B, c_n H_n W_n) in

    @property
    def params(self):
        """{"C1": convs[0].weight, "c1": ..., "W1": head.layers[0].weight, ...}."""
        named = {}
        for j, conv in enumerate(self.convs, start=1):
            named[f"C{j}"], named[f"c{j}"] = conv.weight, conv.bias
        return {**named, **self.head.params}


@torch.no_grad()
def conv_layer(C, c, stride, padding):
    """nn.Conv2d holding copies of the kernels C (c_out, c_in, k, k) and biases c (c_out,)."""
    conv = nn.Conv2d(C.shape[1], C.shape[0], C.shape[2], stride, padding, dtype=C.dtype,
                     device=C.device)
    conv.weight.copy_(C)
    conv.bias.copy_(c)
    return conv
