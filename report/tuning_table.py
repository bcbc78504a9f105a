"""docs/defaults.md's tuning sections: tune.py's candidates and the one the rule chose."""
from training.defaults import AGREEMENT_GAP
from training.tuning import agreeing, chosen, close_to_best, standard_error


def markers(dataset, model="mlp"):
    name = "tuning" + ("" if dataset == "mnist" else f"-{dataset}") + \
        ("" if model == "mlp" else f"-{model}")
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def tuning_section(table, dataset="mnist", val_size=5000, reach=0.98, model="mlp"):
    best = chosen(table, val_size)
    acc = table.final_val_acc
    top = acc.max()
    percent = lambda column: (100 * column).map("{:.2f}".format)
    shown = table.assign(final_val_acc=percent(acc), best_val_acc=percent(table.best_val_acc))
    if "lowest_val_acc" in table:
        shown = shown.assign(lowest_val_acc=percent(table.lowest_val_acc))
    start, end = markers(dataset, model)
    rule = "the lowest validation loss" if top == 1.0 else f"the first to reach {100 * reach:g}%"
    of = f"of those, {rule}"
    if "twin_gap" in table and len(agreeing(table)):
        of = ("of the agreeing ones, the highest lowest validation accuracy over the seeds and "
              "twins; the standard error above plays no part")
    return "\n".join([
        start, shown.to_markdown(index=False), "",
        f"Final validation accuracy ranges over {100 * acc.min():.2f}–{100 * top:.2f}% "
        f"across the {len(table)} candidates; one standard error of an accuracy measured on "
        f"{val_size:,} images is {100 * standard_error(top, val_size):.2f} points, so "
        f"{within(len(close_to_best(table, val_size)))} of the best. "
        + agreement_words(table) + f"Chosen ({of}): candidate {best.candidate}, "
        + (f"channels {best.channels} ({best.kernel}x{best.kernel}), " if "channels" in best
           else "") + (f"{best.layers}, " if isinstance(best.get("layers"), str) else "")
        + f"hidden "
        f"{best.hidden}, {best.optimizer} lr {best.lr:g}, batch {best.batch_size}, "
        f"{best.epochs} epochs, weight decay {best.weight_decay:g}, label smoothing "
        f"{best.label_smoothing:g}, weight average decay {best.ema:g}.",
        end])


def within(n):
    return f"{n} candidate is within it" if n == 1 else f"{n} candidates are within it"


def agreement_words(table):
    """What an agreement search's columns say (training/agreement.py), or "" for another."""
    if "twin_gap" not in table:
        return ""
    n = len(agreeing(table))
    return (f"Each candidate was also trained by both twins on every seed, and by the NumPy twin "
            f"from starts one rounding step away (final_val_acc, best_val_acc and the seconds: "
            f"seed 0's run of the searching twin; lowest_val_acc: over the seeds and both twins' "
            f"exact starts, a fraction in the CSV; twin_gap, self_spread: the largest over the "
            f"seeds, in points): "
            f"{n} of the {len(table)} candidates {'keeps' if n == 1 else 'keep'} both within "
            f"{AGREEMENT_GAP:.2f} points"
            + (". " if n else "; none agrees, so the rule chooses as if they were unmeasured. "))
