"""The torch counterparts of nets/losses_np.py: the losses by --loss name, the squared errors
against smoothed one-hot targets built from F.mse_loss."""
import torch.nn.functional as F

from mlp_torch import cross_entropy


def mse(out, y, smoothing=0.0):
    """F.mse_loss against one-hot targets smoothed as the cross-entropy's (see
    losses_np.mse_forward).   out (B, C), y (B,) -> loss (scalar tensor)."""
    C = out.shape[1]
    targets = F.one_hot(y, C).to(out.dtype) * (1 - smoothing) + smoothing / C
    return F.mse_loss(out, targets)


def softmax_mse(logits, y, smoothing=0.0):
    """The squared error of the softmax's probabilities (see losses_np.softmax_mse_forward).
    logits (B, C), y (B,) -> loss (scalar tensor)."""
    return mse(F.softmax(logits, dim=1), y, smoothing)


# --loss: name -> loss(out, y, smoothing), as losses_np.LOSSES
LOSSES = {"ce": cross_entropy, "mse": mse, "softmax_mse": softmax_mse}
