"""The defaults follow their searches: for every search whose table is in learning_curves/, the
candidate the selection rule picks from that table is what the runs train (a data set's
defaults, or the models table's row), key by key. A search rerun with another outcome, or a
default typed by hand past its search, fails here rather than in a README that no longer
matches its table."""
import pytest

from storage.paths import tuning_table
from training.config import Config
from training.defaults import (AGREEMENT_SEARCHES, MODEL_RUNS, PLAIN, SEARCH_MODELS,
                               SEARCH_SECONDS, SEARCHES, TRAIN_IMAGES, tuning_seconds)
from training.model_rows import model_config
from training.tuning import chosen, read_tuning


def trained_config(dataset, search):
    """The config the search's choice is used in: the models table's row named like the
    search, else the data set's defaults for the search's model."""
    if search in MODEL_RUNS:
        return model_config(*MODEL_RUNS[search], {}, dataset)
    return Config.for_run(dataset, SEARCH_MODELS.get(search, "mlp"))


RUN = [(d, s) for d, s in SEARCHES if tuning_table(d, s).is_file()]


def test_every_search_but_kaggles_has_its_table():
    # Kaggle's CSVs keep MNIST's defaults (docs/defaults.md): the one search not run
    assert sorted(set(SEARCHES) - set(RUN)) == [("kaggle", "mlp")]


@pytest.mark.parametrize("dataset, search", RUN, ids=[f"{d}-{s}" for d, s in RUN])
def test_the_defaults_are_the_choice_of_their_search(dataset, search):
    candidates, val_size, _ = SEARCHES[dataset, search]
    model = SEARCH_MODELS.get(search, "mlp")                 # as tune.py trains it
    base = Config(dataset=dataset, model=model, val_size=val_size, **PLAIN)
    table = read_tuning(tuning_table(dataset, search), candidates, base,
                        (dataset, search) in AGREEMENT_SEARCHES)
    pick = int(chosen(table, val_size, tuning_seconds(dataset, search)).candidate)
    expected = Config(**{**PLAIN, **candidates[pick], "dataset": dataset, "model": model})
    used = trained_config(dataset, search)
    differ = {k: (getattr(used, k), getattr(expected, k))
              for k in {**PLAIN, **candidates[pick]} if getattr(used, k) != getattr(expected, k)}
    assert not differ, f"{search} on {dataset}: candidate {pick} chosen, runs train {differ}"


def test_a_search_held_to_a_time_knows_its_full_runs_training_images(mnist, fashion):
    """tuning_seconds scales the target by the full run's training images (TRAIN_IMAGES): a
    data set held to a time but missing there, or counted wrong, would misjudge every
    candidate."""
    assert {dataset for dataset, _ in SEARCH_SECONDS} <= set(TRAIN_IMAGES)
    assert TRAIN_IMAGES == {"mnist": len(mnist.x_train), "fashion-mnist": len(fashion.x_train)}
