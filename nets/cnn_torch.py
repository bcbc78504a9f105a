"""The same CNN in PyTorch: nn.Conv2d, [nn.BatchNorm2d], nn.MaxPool2d, the activation, then the
MLP of nets/dense_torch.py as its head; autograd for the backward pass. The twin of cnn_np.py.

Built from the same params and Arch as cnn_np.CNN (C_j as nn.Conv2d.weight, W_i as
nn.Linear.weight), so both start from identical weights. Shapes as in cnn_np.py: x (B, H W),
y (B,), logits (B, classes); inside, torch's (B, C, H, W).
"""
import torch
import torch.nn as nn

from nets.dense_torch import Dense
from nets.layers_torch import ACTIVATIONS, batch_norm_layer, batch_norm_tensors, layer_tensors
from nets.shapes import bn_names, count_layers, head_part


class CNN(nn.Module):
    """The network of params and buffers (tensors; see cnn_np.init_params) and arch, with the
    activation called `activation` and dropout of rate `dropout` (as cnn_np.CNN), trained with
    the loss called `loss` (nets.losses_torch.LOSSES). Its layers start as copies."""

    def __init__(self, params, arch, loss="ce", buffers=None, activation="relu", dropout=0.0):
        super().__init__()
        self.arch, self.loss, self.activation, self.dropout = arch, loss, activation, dropout
        n_convs, _ = count_layers(params)
        self.convs = nn.ModuleList(conv_layer(params[f"C{j}"], params.get(f"c{j}"),
                                              arch.stride[j - 1], arch.padding[j - 1])
                                   for j in range(1, n_convs + 1))
        self.names = {str(j): bn_names(f"cbn{j}") for j in range(1, n_convs + 1)
                      if f"cbn{j}_weight" in params}
        self.norms = nn.ModuleDict({j: batch_norm_layer(nn.BatchNorm2d, params, buffers, names)
                                    for j, names in self.names.items()})
        self.pool = nn.MaxPool2d(arch.pool)
        self.head = Dense(head_part(params), head_part(buffers or {}), loss, activation,
                          dropout)
        flat = params["W1"].shape[1]
        self.dropout_widths = [flat, *self.head.dropout_widths] if dropout else []

    def forward(self, x, masks=None):
        """x (B, H W) -> logits (B, classes). masks: as cnn_np.CNN.forward's."""
        act = ACTIVATIONS[self.activation]
        masks = masks if self.training and self.dropout else None
        a = x.view(x.shape[0], 1, *self.arch.image)                # (B, 1, H, W)
        for j, conv in enumerate(self.convs, start=1):
            a = conv(a)
            if str(j) in self.norms:
                a = self.norms[str(j)](a)
            a = act(self.pool(a))                                  # (B, c_j, H_j, W_j)
        a = a.flatten(1)                                           # (B, c_n H_n W_n)
        if masks is not None:
            a, masks = a * masks[0], masks[1:]
        return self.head(a, masks)

    @property
    def params(self):
        """{"C1": convs[0].weight, "c1": ..., "cbn1_weight": ..., "W1": ..., ...}."""
        return {**layer_tensors(self.convs, "C", "c"), **batch_norm_tensors(self.norms, self.names),
                **self.head.params}

    @property
    def buffer_tensors(self):
        """{"cbn1_running_mean": ..., "bn1_running_mean": ...}: batch norm's statistics."""
        return {**batch_norm_tensors(self.norms, self.names, buffers=True),
                **self.head.buffer_tensors}


@torch.no_grad()
def conv_layer(C, c, stride, padding):
    """nn.Conv2d holding copies of the kernels C (c_out, c_in, k, k) and biases c (c_out,), or
    no bias (c None: batch norm follows)."""
    conv = nn.Conv2d(C.shape[1], C.shape[0], C.shape[2], stride, padding, bias=c is not None,
                     dtype=C.dtype, device=C.device)
    conv.weight.copy_(C)
    if c is not None:
        conv.bias.copy_(c)
    return conv
