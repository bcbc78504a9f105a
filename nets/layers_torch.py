"""The torch counterparts of nets/layers_np.py that torch does not name as they are used here:
the squared error against smoothed one-hot targets, and the table of losses by --loss name."""
import torch.nn.functional as F

from mlp_torch import cross_entropy


def mse(out, y, smoothing=0.0):
    """F.mse_loss against one-hot targets smoothed as the cross-entropy's (see
    layers_np.mse_forward).   out (B, C), y (B,) -> loss (scalar tensor)."""
    C = out.shape[1]
    targets = F.one_hot(y, C).to(out.dtype) * (1 - smoothing) + smoothing / C
    return F.mse_loss(out, targets)


# --loss: name -> loss(out, y, smoothing), as layers_np.LOSSES
LOSSES = {"ce": cross_entropy, "mse": mse}
