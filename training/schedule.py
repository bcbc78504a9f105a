"""How the learning rate and the weight average move over a run's steps: the one schedule both
twins follow."""
import math

# The weight average moves once every EMA_EVERY steps, by the decay of that many steps. Its
# update reads and writes every weight three times in NumPy (torch's lerp: once), and the
# weights of four neighbouring steps differ little: this costs a quarter and changes nothing
# that the validation accuracy can see. Wherever the average is evaluated or kept, the steps
# since its last move are added first (training.loop.Run.average_now), so it always includes
# every step taken.
EMA_EVERY = 4


def total_steps_of(cfg, n_train):
    """Training steps of a whole run of cfg on n_train images (the last batch may be short)."""
    return cfg.epochs * math.ceil(n_train / cfg.batch_size)


def lr_at(cfg, step, total_steps):
    """Learning rate of step `step` (0-based) of `total_steps`: linear warm-up over cfg.warmup
    steps, then constant or cosine decay to 0 (Loshchilov & Hutter, 2017)."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    if cfg.schedule == "constant":
        return cfg.lr
    progress = (step - cfg.warmup) / max(1, total_steps - cfg.warmup)
    return cfg.lr * 0.5 * (1 + math.cos(math.pi * progress))


def ema_decay_at(cfg, step, steps=EMA_EVERY):
    """Decay of the weight average over the `steps` steps ending at step `step` (0-based):
    cfg.ema per step, ramped up from 0.1 as tf.train.ExponentialMovingAverage does with
    num_updates, so that the average forgets the random initial weights within the first
    few hundred steps instead of a few thousand."""
    return min(cfg.ema, (1 + step) / (10 + step)) ** steps
