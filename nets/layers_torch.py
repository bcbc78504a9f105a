"""The torch counterparts of nets/layers_np.py that torch does not name as they are used here
(the losses: nets/losses_torch.py)."""
import torch
import torch.nn.functional as F


# --activation: name -> the elementwise function, as layers_np.ACTIVATIONS
ACTIVATIONS = {"relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
               "leaky_relu": F.leaky_relu}


@torch.no_grad()
def batch_norm_layer(kind, params, buffers, names):
    """nn.BatchNorm1d or nn.BatchNorm2d (`kind`) holding copies of the weight, bias and running
    statistics called `names` (nets.shapes.bn_names) in params and buffers (tensors)."""
    weight = params[names["weight"]]
    norm = kind(len(weight), dtype=weight.dtype, device=weight.device)
    norm.weight.copy_(weight)
    norm.bias.copy_(params[names["bias"]])
    for part in ("running_mean", "running_var", "num_batches_tracked"):
        getattr(norm, part).copy_(buffers[names[part]])
    return norm


def layer_tensors(layers, weight, bias):
    """{name: tensor} of a list of layers' weights and biases, numbered from 1 as the weights
    contract names them (weight "W", bias "b": W1, b1, ...); a layer without a bias (batch
    norm's bias replaces it) has no bias entry."""
    named = {}
    for i, layer in enumerate(layers, start=1):
        named[f"{weight}{i}"] = layer.weight
        if layer.bias is not None:
            named[f"{bias}{i}"] = layer.bias
    return named


def batch_norm_tensors(norms, names, buffers=False):
    """{name: tensor} of the weights and biases of a ModuleDict of nn.BatchNorm layers, or
    (buffers=True) their statistics; names: {key: nets.shapes.bn_names}, by the dict's keys."""
    parts = ("running_mean", "running_var", "num_batches_tracked") if buffers else ("weight",
                                                                                    "bias")
    return {names[key][part]: getattr(norm, part) for key, norm in norms.items()
            for part in parts}
