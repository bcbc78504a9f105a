"""Tables read back (results, models, tuning tables) and the flags that shape them: a table a
hand, a crash or another version changed is refused in one line before any work or page
depends on it, the README is never left half rewritten, and a flag that would mislabel or
poison a table is refused before the run (the hostile tester's reports, each case and one more
of its kind)."""
import shutil

import pandas as pd
import pytest

from conftest import ROOT
from storage.atomic import FileError
from storage.tables import read_table
from test_cli import run

LC = ROOT / "learning_curves"


@pytest.fixture
def copy(tmp_path):
    """learning_curves' tables (no pictures) and the README, copied: (out folder, README)."""
    out = tmp_path / "lc"
    for path in LC.rglob("*.csv"):
        target = out / path.relative_to(LC)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    readme = tmp_path / "README.md"
    shutil.copy(ROOT / "README.md", readme)
    return out, readme


@pytest.mark.parametrize("content,said", [
    (b"", "is empty, not a results table"),
    (b"implementation,seed\n", "it has no column test_acc"),           # header, no rows
    (b"a,b\n1,2\n", "it has no column implementation"),
    (b"\xff\xfe\x00", "is not UTF-8 text"),
])
def test_a_table_that_is_not_one_is_refused_in_one_line(tmp_path, content, said):
    path = tmp_path / "results.csv"
    path.write_bytes(content)
    with pytest.raises(FileError, match=said):
        read_table(path, "results table", ("implementation", "seed", "test_acc"))
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(FileError, match="cannot be read"):
        read_table(tmp_path / "folder.csv", "results table")


def edited(out, name, edit):
    table = pd.read_csv(out / name)
    edit(table).to_csv(out / name, index=False)


@pytest.mark.parametrize("name,edit,said", [
    ("results.csv", lambda t: t[t.implementation == "numpy"],
     "seed 0 has the rows ['numpy']; a run writes one row per twin"),
    ("results.csv", lambda t: pd.concat([t, t.iloc[:1]]), "seed 0 has the rows ['numpy', "
                                                          "'numpy', 'torch']"),
    ("results.csv", lambda t: t.assign(test_acc="high"), "column test_acc holds 'high'"),
    ("results.csv", lambda t: t.assign(machine="x <!-- datasets:end --> y"),
     "would break the README's table"),
    ("results.csv", lambda t: t.assign(device="tpu"), "column device holds 'tpu'"),
    # the counts McNemar's line is made of: an inf crashed it, 1e300 hung it, a negative one
    # printed "-2 of -2 images apart", twins' rows that differ gave a p by row order
    ("results.csv", lambda t: t.assign(discordant=float("inf")),
     "column discordant holds inf (row 2 of the file), not a whole number of images"),
    ("results.csv", lambda t: t.assign(discordant=-2), "column discordant holds -2"),
    ("results.csv", lambda t: t.assign(discordant=30.7), "holds 30.7 (row 2"),
    ("results.csv", lambda t: t.assign(test_images=0), "column test_images holds 0 (row 2 of "
                                                       "the file), not a whole number of images "
                                                       "from 1 to 100,000"),
    ("results.csv", lambda t: t.assign(discordant=1e300), "column discordant holds 1e+300"),
    ("results.csv", lambda t: t.assign(discordant=1e7, test_images=1e7),    # never finished
     "column test_images holds 1e+07 (row 2"),
    ("results.csv", lambda t: t.assign(discordant=20_000), "row 2 counts 20000 discordant of "
                                                           "10000 test images"),
    # a blank accuracy or time was skipped by min() / max(): every target met
    ("results.csv", lambda t: t.assign(test_acc=[float("nan")] + list(t.test_acc[1:])),
     "column test_acc holds nan (row 2 of the file), not a number from 0 to 1"),
    ("results.csv", lambda t: t.assign(test_acc=98.7), "column test_acc holds 98.7"),
    ("results.csv", lambda t: t.assign(train_seconds=[1.0, 2.0, float("nan")]
                                       + [1.0] * (len(t) - 3)),
     "column train_seconds holds nan (row 4 of the file), not a number from 0 to inf"),
    ("results.csv", lambda t: t.assign(discordant=[30, 12] * (len(t) // 2)),
     "the twins' rows of seed 0 hold different discordant (30, 12); they count one pair"),
    ("results.csv", lambda t: t.assign(test_images=[10_000, 5_000] * (len(t) // 2)),
     "hold different test_images (10000, 5000)"),
    ("parity.csv", lambda t: t[t.dtype == "float32"], "holds no float64 rows"),
    ("lines/results.csv", lambda t: t.assign(network="MLP | x"), "would break"),
    ("lines/results.csv", lambda t: t.assign(dataset="kaggle"), "another dataset than lines"),
])
def test_an_edited_table_leaves_the_readme_as_it_was(copy, name, edit, said):
    """The results section used to be written before the data sets table failed: half a
    README; a machine holding a marker made every later run refused."""
    out, readme = copy
    edited(out, name, edit)
    before = readme.read_bytes()
    r = run("compare.py", "--from-results", "--out", str(out), "--readme", str(readme))
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1 and said in r.stderr, r.stderr
    assert readme.read_bytes() == before


@pytest.mark.parametrize("edit,said", [
    (lambda t: t.drop(columns="name"), "it has no column name"),
    (lambda t: t[~((t.name == "MLP") & (t.implementation == "torch"))],
     "name MLP, seed 0 has the rows ['numpy']"),
])
def test_a_broken_models_table_is_refused_before_training(copy, edit, said):
    """--models KEY read models.csv after training both twins, and a broken one lost them."""
    out, readme = copy
    edited(out, "models.csv", edit)
    r = run("compare.py", "--models", "softmax", "--quick", "--no-progress", "--out",
            str(out), "--readme", str(readme))
    assert r.returncode == 1 and said in r.stderr and "epoch" not in r.stdout, r.stderr
    r = run("compare.py", "--from-results", "--models", "--out", str(out), "--readme",
            str(readme))
    assert r.returncode == 1 and said in r.stderr


@pytest.mark.parametrize("flags,said", [
    (["--seeds", "0", "0"], "--seeds must be distinct whole numbers from 0, got 0 0"),
    (["--seeds", "-1"], "--seeds must be distinct whole numbers from 0, got -1"),
    (["--threads", "0"], "argument --threads: must be at least 1, got 0"),
    (["--threads", "100000"], "argument --threads: 100000 is more than 4 per core"),
    (["--models", "softmax", "--dataset", "lines"], "would replace MNIST's models table"),
])
def test_flags_that_would_poison_or_mislabel_a_table_are_refused(flags, said):
    r = run("compare.py", *flags, "--no-progress")
    assert r.returncode == 2 and said in r.stderr, r.stderr


def test_a_search_trains_its_own_model_and_keeps_to_its_own_table(tmp_path):
    """tune.py --search cnn without --model cnn trained MLPs and wrote them as the CNN search;
    --out naming another search's table mixed the two."""
    r = run("tune.py", "--search", "cnn", "--model", "mlp", "--no-readme")
    assert r.returncode == 2 and "--search cnn searches over CNNs" in r.stderr
    mixed = tmp_path / "t.csv"
    shutil.copy(LC / "tuning.csv", mixed)                   # MNIST's MLP search
    r = run("tune.py", "--dataset", "lines", "--only", "0", "--out", str(mixed), "--no-readme")
    assert r.returncode == 1 and "is not this search's candidate 0" in r.stderr, r.stderr
    assert "epoch" not in r.stdout                          # before any training
    page = tmp_path / "defaults.md"
    shutil.copy(ROOT / "docs" / "defaults.md", page)
    r = run("tune.py", "--search", "cnn", "--from-table", "--out", str(mixed), "--readme",
            str(page))
    assert r.returncode == 1 and "is not this search's candidate" in r.stderr
    assert page.read_bytes() == (ROOT / "docs" / "defaults.md").read_bytes()


def at(t, candidate, column, value):
    """t with `column` of `candidate`'s row set to value."""
    t = t.astype({column: object})
    t.loc[t.candidate == candidate, column] = value
    return t


@pytest.mark.parametrize("search, edit, said", [
    ("neuron", lambda t: t.drop(columns="self_spread"), "has no column self_spread"),
    ("neuron", lambda t: t.drop(columns=["lowest_val_acc", "twin_gap", "self_spread"]),
     "has no column lowest_val_acc, twin_gap, self_spread"),
    ("neuron", lambda t: at(t, 3, "twin_gap", "apart"),
     "column twin_gap holds 'apart' (row 5 of the file)"),
    ("neuron", lambda t: at(t, 29, "twin_gap", -1), "candidate 29 (row 31 of the file) has a "
                                                    "negative gap or spread"),
    ("neuron", lambda t: at(t, 35, "lowest_val_acc", 0.99),
     "candidate 35 (row 37 of the file) has a lowest accuracy outside 0-1 or above its final"),
    ("neuron", lambda t: at(t, 37, "lowest_val_acc", float("nan")),
     "candidate 37 (row 39 of the file) has blank"),
    ("mlp", lambda t: pd.read_csv(LC / "tuning.csv").assign(lowest_val_acc=0.9, twin_gap=0.0,
                                                             self_spread=0.0),
     "has lowest_val_acc, which only an agreement search measures"),
])
def test_an_agreement_tables_columns_are_whole_and_hold_what_a_measurement_gives(
        tmp_path, search, edit, said):
    """The single neuron's search chooses by its twins' agreement: a table that lost those
    columns (or one), or holds a word, a negative gap, an impossible accuracy or a blank in one,
    crashed the rule or chose by what was left, and another search's table given them switched
    to the agreement rule."""
    table = tmp_path / "t.csv"
    edit(pd.read_csv(LC / "tuning-neuron.csv")).to_csv(table, index=False)
    page = tmp_path / "defaults.md"
    shutil.copy(ROOT / "docs" / "defaults.md", page)
    r = run("tune.py", "--search", search, "--from-table", "--out", str(table), "--readme",
            str(page))
    assert r.returncode == 1 and said in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert page.read_bytes() == (ROOT / "docs" / "defaults.md").read_bytes()


def test_a_shown_row_names_every_machine_its_seeds_ran_on(copy):
    """A row of the data sets table stands for three seeds; seed 0 measured on one machine and
    seeds 1-2 on another were labelled by seed 0's alone."""
    out, readme = copy
    edited(out, "lines/results.csv", lambda t: t.assign(
        machine=["Machine A" if s == 0 else "Machine B" for s in t.seed]))
    r = run("compare.py", "--from-results", "--out", str(out), "--readme", str(readme))
    assert r.returncode == 0, r.stderr
    text = readme.read_text()
    said = text[text.index("<!-- datasets:start -->"):text.index("<!-- datasets:end -->")]
    labels = {m: said[said.index(m) - 4:said.index(m) - 1] for m in ("Machine A", "Machine B")}
    rows = [line for line in said.splitlines() if line.startswith("| lines")]
    assert len(rows) == 2 and all(f"{labels['Machine A']}, {labels['Machine B']}" in row
                                  for row in rows), (labels, rows)


@pytest.mark.parametrize("script", ["main_np.py", "main_torch.py"])
def test_a_negative_seed_is_refused_naming_the_flag(script):
    """--seed -1 reached NumPy's generator: 'expected non-negative integer', no flag named."""
    r = run(script, "--seed", "-1", "--epochs", "1")
    assert r.returncode == 2 and "--seed must be >= 0, got -1" in r.stderr, r.stderr
