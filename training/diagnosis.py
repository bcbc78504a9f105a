"""The verdict on a finished run: did it learn anything?"""
import numpy as np


def at_chance(history, dataset, cfg):
    """The one-line verdict on a finished run that learnt nothing (held-out accuracy within
    2 points of always answering the most common class), or None."""
    held_out = history["held_out"]
    accuracy = history["epochs"][-1][f"{held_out}_acc"]
    y = dataset.y_val if held_out == "val" else dataset.y_test
    chance = float(np.bincount(y).max() / len(y))
    if accuracy > chance + 0.02:
        return None
    return (f"training failed: the final {held_out} accuracy {100 * accuracy:.2f}% is at chance "
            f"level (always answering the most common class scores {100 * chance:.2f}%). Try "
            f"a lower learning rate (--lr {cfg.lr / 10:g}); no weights were saved")
