"""What a 784-1-10 network can reach at most, estimated: all its one hidden unit passes on is one
number per image, so its accuracy is bounded by that of the best one-number code of the images
with the best decoder of that number. This module computes such codes and decoders of them, in
NumPy (float64, deterministic), for the models table to show beside the single neuron.

    one_number_accuracy(x_train, y_train, x_test, y_test, bins=100, ridge=1e-3,
                        learn_epochs=40) -> dict

An ESTIMATE of the bound, from below, not a proof: the true bound is the best over every code,
and no search over codes is exhaustive. Two linear codes z = w . x are tried and the one a
decoder reads better on the training images is kept:
    Fisher     Fisher's LDA direction, chosen for separating class means, not for what a
               decoder can read (a single neuron beat it on MNIST in training);
    learned    the direction learned, from Fisher's, with a free decoder of z (learned_direction):
               gradient descent on what a decoder can read, as the network's own training is.
A trained unit could still compute a better direction (or, through its ReLU, another function).
The histogram decoder, on the other hand, is freer than the network's own output layer.

The decoders of z, each fitted on the training images:
    histogram  z's training quantiles cut it into `bins` bins; a bin predicts its majority
               class. Any decoder of z, up to the bins' resolution.
    relu       of max(0, s z + b), what the neuron really passes on: every image with
               s z + b <= 0 gives the same 0, so those bins merge into one. The best sign and
               bias on the training images put the kink below them all, losing nothing: with a
               free bias the ReLU costs nothing. What a kink costs that sends a share of the
               images to 0 (a neuron half dead, say) is reported for 1/4, 1/2 and 3/4.
    intervals  what the network's output layer can do with its one number h: the argmax of C
               affine functions a_k h + c_k gives each class at most one interval of h (the
               upper envelope of lines), and any order of distinct classes can be had. The best
               such labelling of the bins, by dynamic programming over (classes used, last one).

What it measures on MNIST and Fashion-MNIST: README.md's models table and docs/defaults.md.
"""
import numpy as np

from twins.optim_np import Adam

MAX_INTERVAL_CLASSES = 12     # the intervals' program keeps 2^classes states per bin


def one_number_accuracy(x_train, y_train, x_test, y_test, bins=100, ridge=1e-3,
                        learn_epochs=40):
    """x_train (N, D), y_train (N,) ints 0..C-1, x_test (M, D), y_test (M,) -> dict:
        code           "Fisher" or "learned": the code kept, the one whose histogram decoder
                       gets more training images right (the test images choose nothing)
        direction      (D,) float64, unit length: its direction, the sign the one of the ReLU's
                       code below
        fisher_ratio   between- over within-class scatter along Fisher's LDA direction
                       (fisher_direction)
        fisher_train_accuracy, fisher_test_accuracy    Fisher's code's histogram decoder
        train_accuracy, test_accuracy          of the histogram decoder of the code kept:
                       fractions in [0, 1]
        relu_train_accuracy, relu_test_accuracy    of the decoder of relu(direction . x + b),
                       b = relu_bias, the best on the training images (it loses nothing)
        relu_zero_fraction                     the training share that code sends to 0
        relu_test_accuracy_by_zero_fraction    {0.25, 0.5, 0.75: test accuracy} of the kinks
                       at the bin edges nearest to sending that share of the training images
                       to 0 (within half a bin, 1 / (2 bins)), each with its better sign
        interval_train_accuracy, interval_test_accuracy    one interval per class at most (None
                       with more than MAX_INTERVAL_CLASSES classes)
        how            one line saying how it was computed
    bins: number of quantile bins (>= 2); ridge: added to the within-class scatter, in units of
    its mean diagonal (> 0); learn_epochs: learned_direction's epochs (0: Fisher's code only).
    Any float dtype in, float64 inside. ValueError for mismatched shapes, fewer than 2 classes
    in training, bad bins, ridge or learn_epochs."""
    x_train, x_test = np.asarray(x_train, np.float64), np.asarray(x_test, np.float64)
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    if x_train.ndim != 2 or x_test.ndim != 2 or x_train.shape[1] != x_test.shape[1] \
            or len(y_train) != len(x_train) or len(y_test) != len(x_test):
        raise ValueError(f"x_train {x_train.shape}, y_train {y_train.shape}, x_test "
                         f"{x_test.shape}, y_test {y_test.shape} do not match")
    if not (isinstance(bins, (int, np.integer)) and bins >= 2):
        raise ValueError(f"bins must be an integer >= 2, not {bins!r}")
    if not (isinstance(learn_epochs, (int, np.integer)) and not isinstance(learn_epochs, bool)
            and learn_epochs >= 0):
        raise ValueError(f"learn_epochs must be an integer >= 0, not {learn_epochs!r}")
    if not (np.isfinite(x_train).all() and np.isfinite(x_test).all()):
        raise ValueError("x_train and x_test must be finite (no NaN or inf)")
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    fisher, ratio = fisher_direction(x_train, y_train, ridge, n_classes)
    codes = {"Fisher": fisher}
    if learn_epochs and np.ptp(x_train @ fisher) > 0:       # no spread: nothing to learn from
        codes["learned"] = learned_direction(x_train, y_train, fisher, n_classes, learn_epochs)
    decoded = {name: histogram(w, x_train, y_train, x_test, y_test, bins, n_classes)
               for name, w in codes.items()}
    kept = max(codes, key=lambda name: decoded[name]["train"])   # Fisher's on a tie
    w, (z, z_test, edges, counts) = codes[kept], decoded[kept]["fit"]
    score = lambda labels, z_, y_: float(np.mean(labels[bin_of(z_, edges)] == y_))
    out = dict(code=kept, fisher_ratio=ratio, fisher_train_accuracy=decoded["Fisher"]["train"],
               fisher_test_accuracy=decoded["Fisher"]["test"],
               train_accuracy=decoded[kept]["train"], test_accuracy=decoded[kept]["test"])
    # The ReLU: the best kink on the training images, and kinks that send a quarter, half and
    # three quarters of them to 0 (a trained neuron's share of dead images reads against these)
    ks, signs, right = relu_cuts(counts)
    best = relu_scores(z, z_test, y_train, y_test, edges, counts, ks[np.argmax(right)],
                       signs[np.argmax(right)])
    out.update(direction=best["sign"] * w, relu_bias=best["bias"],
               relu_zero_fraction=best["zero"], relu_train_accuracy=best["train"],
               relu_test_accuracy=best["test"], relu_test_accuracy_by_zero_fraction={})
    for share in (0.25, 0.5, 0.75):
        i = int(np.argmin(np.abs(ks / len(counts) - share)))
        r = relu_scores(z, z_test, y_train, y_test, edges, counts, ks[i], signs[i])
        out["relu_test_accuracy_by_zero_fraction"][share] = r["test"]
    few = n_classes <= MAX_INTERVAL_CLASSES
    interval = interval_labels(counts) if few else None
    out.update(interval_train_accuracy=score(interval, z, y_train) if few else None,
               interval_test_accuracy=score(interval, z_test, y_test) if few else None)
    how = "Fisher LDA direction" if kept == "Fisher" else (
        f"direction learned in {learn_epochs} epochs from Fisher's LDA direction")
    out["how"] = (f"{how} (ridge {ridge:g} x mean within-class variance), {len(edges) + 1} "
                  f"quantile bins of the {len(z)} training projections, each bin's majority "
                  f"training class; test on {len(z_test)} images")
    return out


def histogram(w, x_train, y_train, x_test, y_test, bins, n_classes):
    """The histogram decoder of z = x . w: dict(train, test accuracies, fit = (z, z_test,
    edges, counts (bins, C)))."""
    z, z_test = x_train @ w, x_test @ w
    edges = quantile_edges(z, bins)
    counts = class_counts(z, y_train, edges, n_classes)                   # (bins, C)
    labels = counts.argmax(1)
    return dict(train=float(np.mean(labels[bin_of(z, edges)] == y_train)),
                test=float(np.mean(labels[bin_of(z_test, edges)] == y_test)),
                fit=(z, z_test, edges, counts))


def learned_direction(x, y, start, n_classes, epochs=40, batch=1000, bumps=24, lr=3e-3, seed=0):
    """x (N, D) float64, y (N,) ints, start (D,) -> w (D,) unit float64: a direction whose one
    number a decoder reads well, learned by Adam (lr, batches of `batch` drawn from `seed`: the
    same w every run) on the softmax cross-entropy of a free decoder of the code:
        z = (x - mean) / scale . w                  (B,)  scale: the spread of all of x's
                                                          entries, so that the pixels' unit
                                                          (1 or 255) changes nothing; w starts
                                                          as `start` over the spread along it
        phi_j = exp(-(z - mu_j)^2 / (2 s^2))        (B, J) J = `bumps` Gaussian bumps, centres
                                                           mu_j evenly over [-3, 3], s apart
        logits = phi A + b                          (B, C) A (J, C) and b (C,) start at 0
    a radial-basis network of one input (Broomhead & Lowe 1988): any smooth decoder of z, so
    only w limits it. Its backward, from dlogits = (softmax - onehot) / B:
        dA = phi' dlogits, db = sum_rows dlogits, dphi = dlogits A',
        dz = sum_j dphi_j phi_j (mu_j - z) / s^2,   dw = ((x - mean) / scale)' dz.
    ValueError if x does not vary along start."""
    mean = x.mean(0)
    scale = np.sqrt(np.mean((x - mean) ** 2))
    spread = np.std((x - mean) @ start) / scale if scale > 0 else 0.0
    if not spread > 0:
        raise ValueError("x does not vary along the start direction: nothing to learn from")
    centres = np.linspace(-3, 3, bumps)
    s = centres[1] - centres[0]
    params = {"w": start / spread, "A": np.zeros((bumps, n_classes)), "b": np.zeros(n_classes)}
    optimizer = Adam(params, lr)
    rng = np.random.default_rng(seed)
    one_hot = np.eye(n_classes)
    for _ in range(epochs):
        for rows in np.array_split(rng.permutation(len(x)), max(1, len(x) // batch)):
            xb = (x[rows] - mean) / scale                                     # (B, D)
            away = xb @ params["w"] - centres[:, None]                        # (J, B): z - mu
            phi = np.exp(-away ** 2 / (2 * s * s))                            # (J, B)
            logits = phi.T @ params["A"] + params["b"]                        # (B, C)
            probs = np.exp(logits - logits.max(1, keepdims=True))
            probs /= probs.sum(1, keepdims=True)                              # (B, C) softmax
            dlogits = (probs - one_hot[y[rows]]) / len(rows)                  # (B, C)
            dz = ((params["A"] @ dlogits.T) * phi * -away).sum(0) / (s * s)   # (B,)
            optimizer.step({"w": xb.T @ dz, "A": phi @ dlogits, "b": dlogits.sum(0)})
    return params["w"] / np.linalg.norm(params["w"])


def fisher_direction(x, y, ridge=1e-3, n_classes=None):
    """x (N, D) float64, y (N,) ints -> (w (D,) unit float64, Fisher ratio w'Bw / w'Ww).

    w maximises w'Bw / w'(W + eps I)w, B = sum_c n_c (m_c - m)(m_c - m)' the between-class
    scatter and W = sum_c sum_{i in c} (x_i - m_c)(x_i - m_c)' the within-class one (Fisher
    1936; Rao 1948 for many classes; Hastie, Tibshirani & Friedman, The Elements of Statistical
    Learning, 2nd ed., section 4.3.3). eps = ridge * trace(W) / D, the ridge of regularised
    discriminant analysis (Friedman 1989): W is singular on MNIST, whose border pixels are
    always 0. Solved with symmetric eigen-decompositions only: with W + eps I = V diag(d) V',
    K = V diag(d^-1/2) V' whitens it, the leading eigenvector u of the symmetric K B K gives
    w = K u (the generalised problem B w = lambda (W + eps I) w). Its sign is fixed so that its
    largest entry in magnitude is positive: the same w in every run."""
    if not ridge > 0:
        raise ValueError(f"ridge must be > 0, not {ridge}")
    y = np.asarray(y)
    n_classes = int(y.max()) + 1 if n_classes is None else n_classes
    n_c = np.bincount(y, minlength=n_classes).astype(np.float64)              # (C,)
    if np.count_nonzero(n_c) < 2:
        raise ValueError("the training labels hold fewer than 2 classes: nothing to separate")
    d_in = x.shape[1]
    one_hot = (y[:, None] == np.arange(n_classes)).astype(np.float64)         # (N, C)
    means = (one_hot.T @ x) / np.maximum(n_c, 1)[:, None]                     # (C, D)
    centred = x - means[y]
    within = centred.T @ centred                                              # (D, D)
    spread = means - x.mean(0)
    between = (spread.T * n_c) @ spread                                       # (D, D)
    d, v = np.linalg.eigh(within + ridge * np.trace(within) / d_in * np.eye(d_in))
    whiten = (v / np.sqrt(d)) @ v.T                                           # (W + eps I)^-1/2
    ratios, u = np.linalg.eigh(whiten @ between @ whiten)
    w = whiten @ u[:, -1]
    w /= np.linalg.norm(w)
    w *= np.sign(w[np.argmax(np.abs(w))])
    return w, float(ratios[-1])


def quantile_edges(z, bins):
    """The inner edges (at most bins - 1, increasing) cutting the training values z into bins of
    about equal counts; repeated quantiles (ties in z) merge their bins."""
    return np.unique(np.quantile(z, np.linspace(0, 1, bins + 1)[1:-1]))


def bin_of(z, edges):
    """Bin index of each value (0 .. len(edges)): bin k holds edges[k-1] <= z < edges[k]; the
    outer bins reach to -inf and +inf, so test values beyond the training range have a bin."""
    return np.searchsorted(edges, z, side="right")


def class_counts(z, y, edges, n_classes):
    """(bins, C) training images of each class in each bin."""
    counts = np.zeros((len(edges) + 1, n_classes))
    np.add.at(counts, (bin_of(z, edges), y), 1)
    return counts


def relu_cuts(counts):
    """(k (K,), sign (K,), training images right (K,)) for relu codes that send the first k
    bins (k = 1 .. bins - 1; all of them would leave one class for every image) to 0, in the
    order of sign s: relu(s z + b) is 0 on them, so its decoder gives them one class, their
    pooled majority, and each other bin its own. Each k with the better sign (+1 on ties)."""
    best = counts.max(1)
    n = len(best)
    ks = np.arange(1, max(2, n))
    right = []
    for sign in (1, -1):
        ordered = counts[::sign]
        merged = np.cumsum(ordered, 0).max(1)[ks - 1]
        kept = np.cumsum(best[::sign][::-1])[::-1]                           # bins k .. n-1
        right.append(merged + np.append(kept, 0)[ks])
    sign = np.where(right[1] > right[0], -1, 1)
    return ks, sign, np.maximum(right[0], right[1])


def relu_scores(z, z_test, y_train, y_test, edges, counts, k, sign):
    """dict(sign, bias, zero, train, test) of the code relu(sign z + bias) whose 0 holds the
    first k bins in sign's order: the kink at their edge, or for k = 1 at the lowest training
    value, so that only one image gives 0. Its decoder reads the code alone: 0 gives the zeroed
    bins' pooled majority class, a code above 0 the class of its bin."""
    n = len(counts)
    zeroed = np.arange(k) if sign == 1 else np.arange(n - k, n)
    if k == 1:
        bias = -np.min(sign * z)
    else:
        bias = -edges[k - 1] if sign == 1 else edges[n - 1 - k]
    labels = counts.argmax(1)
    labels[zeroed] = counts[zeroed].sum(0).argmax()
    def predict(z_):
        code = np.maximum(0, sign * z_ + bias)
        return np.where(code > 0, labels[bin_of(z_, edges)], labels[zeroed[0]])
    return dict(sign=int(sign), bias=float(bias), zero=float(np.mean(sign * z + bias <= 0)),
                train=float(np.mean(predict(z) == y_train)),
                test=float(np.mean(predict(z_test) == y_test)))


def interval_labels(counts):
    """Labels (bins,) of the bins with each class on at most one run of adjacent bins (what a
    linear output layer can decode from one number), the most training images right.

    Dynamic programming over the bins in order: best[S, c] = most images right in the bins so
    far, with S the set of classes used (a bit mask) and c the class of the last bin. A bin
    either continues c or starts a class not in S. O(bins * 2^C * C) time."""
    n_bins, n_classes = counts.shape
    sets = np.arange(1 << n_classes)
    member = (sets[:, None] >> np.arange(n_classes)) & 1 == 1                 # (2^C, C)
    without = sets[:, None] & ~(1 << np.arange(n_classes))                    # (2^C, C)
    value = np.where((sets[:, None] == 1 << np.arange(n_classes)), counts[0], -np.inf)
    switched, last_best = [], []
    for j in range(1, n_bins):
        best_of_set = value.max(1)                                            # (2^C,)
        last_best.append(value.argmax(1))
        start = np.where(without == sets[:, None], -np.inf, best_of_set[without])
        switch = start > value
        value = np.where(member, np.maximum(value, start) + counts[j], -np.inf)
        switched.append(switch)
    s, c = np.unravel_index(np.argmax(value), value.shape)
    labels = np.empty(n_bins, np.int64)
    for j in range(n_bins - 1, 0, -1):                                        # back through
        labels[j] = c
        if switched[j - 1][s, c]:
            s = s & ~(1 << c)
            c = last_best[j - 1][s]
    labels[0] = c
    return labels
