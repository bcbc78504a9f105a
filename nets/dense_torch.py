"""The MLP of mlp_torch.py with the layers every course adds to it: any activation, batch norm
(nn.BatchNorm1d), dropout. The twin of nets/dense_np.py, by the same names:

    per hidden layer i:  linear -> [batch norm] -> activation -> [dropout]      then: linear

Dropout multiplies by the masks given to forward (datasets.catalog.dropout_masks), the same
the NumPy twin uses: nn.Dropout draws from torch's own generator, which NumPy cannot reproduce.
"""
import torch
import torch.nn as nn

from nets.layers_torch import ACTIVATIONS, batch_norm_layer, batch_norm_tensors, layer_tensors
from nets.shapes import bn_names, count_layers


class Dense(nn.Module):
    """The network of params and buffers (tensors, by the names of nets/dense_np.py), with the
    activation called `activation` and dropout of rate `dropout`. Its layers start as copies
    of the tensors; train() and eval() choose batch norm's statistics and whether masks apply."""

    def __init__(self, params, buffers=None, loss="ce", activation="relu", dropout=0.0):
        super().__init__()
        self.loss, self.activation, self.dropout = loss, activation, dropout
        _, self.n_layers = count_layers(params)
        self.layers = nn.ModuleList(linear_layer(params[f"W{i}"], params.get(f"b{i}"))
                                    for i in range(1, self.n_layers + 1))
        self.names = {str(i): bn_names(f"bn{i}") for i in range(1, self.n_layers)
                      if f"bn{i}_weight" in params}
        self.norms = nn.ModuleDict({i: batch_norm_layer(nn.BatchNorm1d, params, buffers, names)
                                    for i, names in self.names.items()})
        widths = [params[f"W{i}"].shape[0] for i in range(1, self.n_layers)]
        self.dropout_widths = widths if dropout else []

    def forward(self, x, masks=None):
        """x (B, D) -> logits (B, classes). masks: a dropout mask (B, n_i) per hidden layer."""
        act = ACTIVATIONS[self.activation]
        masks = masks if self.training and self.dropout else None
        a = x                                                 # (B, D): a row per image
        for i, layer in enumerate(self.layers, start=1):
            a = layer(a)                                      # (B, n_i)
            if i < self.n_layers:
                if str(i) in self.norms:
                    a = self.norms[str(i)](a)
                a = act(a)
                if masks is not None:
                    a = a * masks[i - 1]
        return a

    @property
    def params(self):
        """{"W1": ..., "b1": ..., "bn1_weight": ..., ...}: the trained tensors by name."""
        return {**layer_tensors(self.layers, "W", "b"), **batch_norm_tensors(self.norms,
                                                                            self.names)}

    @property
    def buffer_tensors(self):
        """{"bn1_running_mean": ..., ...}: batch norm's statistics by name."""
        return batch_norm_tensors(self.norms, self.names, buffers=True)


@torch.no_grad()
def linear_layer(W, b=None):
    """nn.Linear holding copies of W (n_out, n_in) and b (n_out,); without a bias when b is None
    (batch norm follows: see nets/dense_np.py)."""
    layer = nn.Linear(W.shape[1], W.shape[0], bias=b is not None, dtype=W.dtype, device=W.device)
    layer.weight.copy_(W)
    if b is not None:
        layer.bias.copy_(b)
    return layer
