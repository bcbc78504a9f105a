"""docs/defaults.md's tuning sections: tune.py's candidates and the one the rule chose."""
from training.defaults import AGREEMENT_GAP, SEARCH_SECONDS, TRAIN_IMAGES, tuning_seconds
from training.tuning import agreeing, chosen, close_to_best, fits_in, fitting, standard_error


def markers(dataset, model="mlp"):
    name = "tuning" + ("" if dataset == "mnist" else f"-{dataset}") + \
        ("" if model == "mlp" else f"-{model}")
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def tuning_section(table, dataset="mnist", val_size=5000, reach=0.98, model="mlp"):
    seconds = tuning_seconds(dataset, model)
    best = chosen(table, val_size, seconds)
    ranked = fitting(table, seconds)              # the candidates the rule ranks
    acc = ranked.final_val_acc
    top = acc.max()
    percent = lambda column: (100 * column).map("{:.2f}".format)
    shown = table.assign(final_val_acc=percent(table.final_val_acc),
                         best_val_acc=percent(table.best_val_acc))
    if "lowest_val_acc" in table:
        shown = shown.assign(lowest_val_acc=percent(table.lowest_val_acc))
    start, end = markers(dataset, model)
    rule = "the lowest validation loss" if top == 1.0 else f"the first to reach {100 * reach:g}%"
    of = f"of those, {rule}"
    if "twin_gap" in ranked and len(agreeing(ranked)):
        of = ("of the agreeing ones, the highest lowest validation accuracy over the seeds and "
              "twins; the standard error above plays no part")
    return "\n".join([
        start, shown.to_markdown(index=False), "",
        time_words(table, dataset, model, seconds, val_size) +
        f"Final validation accuracy ranges over {100 * acc.min():.2f}–{100 * top:.2f}% "
        f"across the {len(acc)} candidate{'s' * (len(acc) != 1)}"
        f"{(' that fit' if len(acc) != 1 else ' that fits') * (len(acc) < len(table))}; one "
        f"standard error of an accuracy measured on {val_size:,} images is "
        f"{100 * standard_error(top, val_size):.2f} points, so "
        f"{within(len(close_to_best(ranked, val_size)))} of the best. "
        + agreement_words(ranked) + f"Chosen ({of}): candidate {best.candidate}, "
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


def time_words(table, dataset, search, seconds, val_size):
    """What the search's time target (training/defaults.tuning_seconds) did to its candidates,
    or "" where it has none or every candidate fits it."""
    if seconds is None:
        return ""
    over = table[~fits_in(table, seconds)]
    if not len(over):
        return ""
    full, many = TRAIN_IMAGES[dataset], len(over) != 1
    ids = [str(c) for c in over.candidate]
    named = " and ".join([", ".join(ids[:-1]), ids[-1]] if many else ids)
    untimed = " or " + ("were" if many else "was") + " not timed" \
        if over.train_seconds.isna().any() else ""
    return (f"The search is held to {SEARCH_SECONDS[dataset, search]:g} s a seed, its time "
            f"target for {full:,} training images; its tuning runs train on "
            f"{full - val_size:,}, so a candidate must take under {seconds:g} s (one twin, one "
            f"seed, no margin): candidate{'s' * many} {named} took longer{untimed}"
            + (f" and {'are' if many else 'is'} passed over. " if len(over) < len(table)
               else "; none fits, so the rule ranks them all. "))
