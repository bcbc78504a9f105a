"""The same multilayer perceptron in PyTorch: nn.Linear layers, and autograd for the backward
pass. The twin of mlp_np.py, section by section: a diff of the two shows only the maths.

    logits = W_L relu( ... relu(W_1 x + b_1) ... ) + b_L        loss = cross-entropy

Shapes, for a batch of B images and layer widths (784, n_1, ..., 10):
    x        (B, 784)         pixels / 255, one row per image, as the data sets give them
    y        (B,)             class ids 0..9
    W_i      (n_i, n_{i-1})   the weights of layer i: nn.Linear's weight
    b_i      (n_i,)           the biases of layer i: nn.Linear's bias
    a        (B, n_i)         inside the network one row per image: a = a_prev W^T + b
    logits   (B, 10)

nn.Linear computes x W^T + b on rows where mlp_np computes W x + b on columns: the same
numbers, each library's fast layout. Autograd records the forward pass and runs the chain rule
backwards through it: loss.backward() is what mlp_np's *_backward functions write out.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class MLP(nn.Module):
    """The ReLU network of params {"W1": (n_1, 784), "b1": (n_1,), ..., "WL", "bL"} (tensors,
    see mlp_np.init_params), trained with the loss called `loss` (ce below; the squared errors:
    nets/losses_torch.py). Its layers start as copies of the tensors it is given."""

    def __init__(self, params, loss="ce"):
        super().__init__()
        self.loss = loss
        self.n_layers = len(params) // 2
        self.layers = nn.ModuleList(linear_layer(params[f"W{i}"], params[f"b{i}"])
                                    for i in range(1, self.n_layers + 1))

    def forward(self, x):
        """x (B, 784) -> logits (B, 10); autograd keeps what backward needs."""
        a = x                                                 # (B, 784): a row per image
        for i, layer in enumerate(self.layers, start=1):
            a = layer(a)                                      # (B, n_i)
            if i < self.n_layers:                             # the last layer's are the logits
                a = F.relu(a)                                 # (B, n_i)
        return a                                              # (B, 10)

    @property
    def params(self):
        """{"W1": layers[0].weight, "b1": layers[0].bias, ...}: the tensors by contract name."""
        named = {}
        for i, layer in enumerate(self.layers, start=1):
            named[f"W{i}"], named[f"b{i}"] = layer.weight, layer.bias  # (n_i, n_{i-1}), (n_i,)
        return named


# --- the layers ------------------------------------------------------------------------------

@torch.no_grad()
def linear_layer(W, b):
    """nn.Linear holding copies of W (n_out, n_in) and b (n_out,), in their dtype and device."""
    layer = nn.Linear(W.shape[1], W.shape[0], dtype=W.dtype, device=W.device)
    layer.weight.copy_(W)
    layer.bias.copy_(b)
    return layer


def cross_entropy(logits, y, smoothing=0.0):
    """Mean softmax cross-entropy against label-smoothed targets (see mlp_np's
    cross_entropy_forward).   logits (B, C), y (B,) -> loss (scalar tensor)."""
    return F.cross_entropy(logits, y, label_smoothing=smoothing)


# --- the initial weights ---------------------------------------------------------------------
# Those of mlp_np.init_params: both twins start from its one draw (twins/torch_twin.py copies
# the arrays into the layers above), so their curves can lie on each other.
