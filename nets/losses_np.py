"""The losses by --loss name: the softmax cross-entropy (mlp_np.py's) and the squared errors
written by hand here, of the network's scores and of its softmax probabilities. Each as the
layers of nets/layers_np.py: `*_forward(out, y, smoothing)` returns the loss and a cache,
`*_backward(dloss, cache)` the gradient with respect to `out`. Targets are one-hot, label-smoothed
as the cross-entropy's."""
from mlp_np import cross_entropy_backward, cross_entropy_forward
from nets.layers_np import array_module


def mse_forward(out, y, smoothing=0.0):
    """Mean squared error against one-hot targets, label-smoothed as the cross-entropy's (the
    true class 1 - s + s/C, the others s/C): torch's F.mse_loss(out, targets), the mean over
    all B x C entries, of the network's outputs taken as scores, not log-probabilities (--loss
    mse).   out (B, C), y (B,) -> (loss (scalar array), cache: out - targets (B, C))."""
    xp = array_module(out)
    B, C = out.shape
    diff = out - smoothing / C                            # (B, C): out - targets
    diff[xp.arange(B), y] -= 1 - smoothing
    return (diff * diff).mean(), diff


def mse_backward(dloss, diff):
    """dloss (scalar) -> dout (B, C) = dloss 2 (out - targets) / (B C)."""
    return diff * (2 * dloss / diff.size)


def softmax_mse_forward(logits, y, smoothing=0.0):
    """Mean squared error between the softmax's probabilities and the (smoothed) one-hot targets:
    F.mse_loss(F.softmax(logits, 1), targets), what a network whose output layer is a softmax
    minimises when trained on squared error (Keras's loss="mse" after a softmax Dense layer).
    Unlike mse_forward's scores, the probabilities are bounded, and an image whose probabilities
    are near 0 and 1, right or confidently wrong, stops pulling: the softmax's slope vanishes
    there (the single neuron's loss, --loss softmax_mse).
    logits (B, C), y (B,) -> (loss (scalar array), cache: (probs, probs - targets), each (B, C))."""
    xp = array_module(logits)
    shifted = logits - logits.max(axis=1, keepdims=True)      # (B, C), every entry <= 0
    exp = xp.exp(shifted)                                      # (B, C), in (0, 1]
    probs = exp / exp.sum(axis=1, keepdims=True)               # (B, C) softmax
    loss, diff = mse_forward(probs, y, smoothing)              # diff (B, C): probs - targets
    return loss, (probs, diff)


def softmax_mse_backward(dloss, cache):
    """dloss (scalar) -> dlogits (B, C). Through the squared error, dprobs = 2 (probs - targets)
    dloss / (B C); through the softmax, whose Jacobian is diag(p) - p p^T,
    dlogits_c = p_c (dprobs_c - sum_k dprobs_k p_k)."""
    probs, diff = cache
    dprobs = mse_backward(dloss, diff)                               # (B, C)
    return probs * (dprobs - (dprobs * probs).sum(axis=1, keepdims=True))   # (B, C)


# --loss: name -> (forward(out, y, smoothing) -> (loss, cache), backward(dloss, cache) -> dout)
LOSSES = {"ce": (cross_entropy_forward, cross_entropy_backward),
          "mse": (mse_forward, mse_backward),
          "softmax_mse": (softmax_mse_forward, softmax_mse_backward)}
