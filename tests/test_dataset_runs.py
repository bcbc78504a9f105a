"""Every data set through the entry points, as a user runs them: training, weights that record
their data set, predict.py's drawing, class names and Kaggle submission, compare.py's table."""
import json
import re

import numpy as np
import pandas as pd
import pytest

import mlp_np
from datasets import catalog
from helpers import NP, write_mnist
from training import weights_file
from test_cli import TINY, run

SCRIPTS = ["main_np.py", "main_torch.py"]


@pytest.fixture(scope="module")
def tiny_idx(tmp_path_factory):
    """A small random set in the IDX layout: stands in for Fashion-MNIST's four files."""
    return write_mnist(tmp_path_factory.mktemp("tiny_fashion"))


@pytest.mark.parametrize("script", SCRIPTS)
def test_lines_train_with_their_defaults_and_save_what_they_are(script, tmp_path):
    r = run(script, "--dataset", "lines", "--no-progress", "--save", str(tmp_path / "w.npz"),
            "--history", str(tmp_path / "h.json"))
    assert r.returncode == 0, r.stderr
    assert "lines, MLP 256-64-2" in r.stdout and "data from generated" in r.stdout
    history = json.loads((tmp_path / "h.json").read_text())
    assert history["config"]["dataset"] == "lines" and history["config"]["epochs"] == 10
    assert history["epochs"][-1]["test_acc"] >= 0.995       # the target (100%): compare.py
    params, config = weights_file.load_weights(tmp_path / "w.npz")
    assert params["W1"].shape == (64, 256) and params["W2"].shape == (2, 64)
    assert config["dataset"] == "lines"


@pytest.mark.parametrize("script", SCRIPTS)
def test_fashion_and_kaggle_train_through_both_twins(script, tiny_idx, kaggle_dir, tmp_path):
    r = run(script, "--dataset", "fashion-mnist", *TINY, "--data-dir", str(tiny_idx))
    assert r.returncode == 0, r.stderr
    assert "Fashion-MNIST, MLP 784-16-10" in r.stdout and str(tiny_idx) in r.stdout
    r = run(script, "--dataset", "kaggle", *TINY, "--data-dir", str(kaggle_dir),
            "--save", str(tmp_path / "k.npz"))
    assert r.returncode == 0, r.stderr
    assert "Kaggle Digit Recognizer, MLP 784-16-10" in r.stdout
    assert "final test accuracy" in r.stdout
    assert weights_file.load_weights(tmp_path / "k.npz")[1]["dataset"] == "kaggle"


def test_fashion_defaults_apply_and_flags_still_win():
    from training.config import Config, build_parser, config_from_args
    from training.defaults import DEFAULTS
    parser = build_parser("x")
    for (name, model), own in DEFAULTS.items():
        name = "mnist" if name == "*" else name
        args = ["--dataset", name, "--model", model]
        cfg = config_from_args(parser, parser.parse_args(args))
        assert all(getattr(cfg, k) == v for k, v in own.items())
        assert config_from_args(parser, parser.parse_args(args + ["--epochs", "3"])).epochs == 3
    assert config_from_args(parser, parser.parse_args([])) == Config()


@pytest.mark.parametrize("script", SCRIPTS + ["predict.py"])
def test_weights_of_another_shape_are_an_error_of_another_data_set_a_warning(script, tmp_path,
                                                                             tiny_idx):
    lines_weights, mnist_weights = tmp_path / "lines.npz", tmp_path / "mnist.npz"
    weights_file.save_weights(lines_weights, mlp_np.init_params((256, 8, 2)), {"dataset": "lines"})
    weights_file.save_weights(mnist_weights, mlp_np.init_params((784, 8, 10)), {"dataset": "mnist"})
    load = ["--weights"] if script == "predict.py" else ["--eval", "--load"]
    r = run(script, "--dataset", "mnist", *load, str(lines_weights))
    # --dataset given against the file: a flag contradicting the file, exit 2
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].endswith(
        f"{lines_weights} takes 256 inputs and gives 2 classes (trained on lines); mnist "
        f"has 784 inputs (28x28) and 10 classes")
    if script != "predict.py":                 # no --dataset: the file's, as predict.py takes it
        r = run(script, *load, str(lines_weights))
        assert r.returncode == 0 and "test acc" in r.stdout and "warning" not in r.stderr, \
            r.stderr
    r = run(script, "--dataset", "fashion-mnist", *load, str(mnist_weights),
            "--data-dir", str(tiny_idx), *(["--index", "3"] if script == "predict.py" else []))
    assert r.returncode == 0, r.stderr
    assert f"warning: {mnist_weights} was trained on mnist, not fashion-mnist" in r.stderr


def test_predict_draws_lines_16x16_and_names_fashion_classes(tmp_path, tiny_idx):
    weights = tmp_path / "lines.npz"
    weights_file.save_weights(weights, mlp_np.init_params((256, 8, 2)), {"dataset": "lines"})
    r = run("predict.py", "--weights", str(weights), "--index", "5")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "lines test image 5"
    assert all(len(line) == 32 for line in lines[1:17]) and "class" in lines[17]
    label = int(catalog.load("lines").y_test[5])
    assert lines[-1].endswith(f"true label {label} ({('horizontal', 'vertical')[label]})")
    weights = tmp_path / "fashion.npz"
    weights_file.save_weights(weights, mlp_np.init_params((784, 8, 10)), {"dataset": "fashion-mnist"})
    r = run("predict.py", "--weights", str(weights), "--index", "0", "--data-dir", str(tiny_idx))
    assert r.returncode == 0, r.stderr
    assert "Ankle boot" in r.stdout and "T-shirt/top" in r.stdout
    assert re.search(r"^    9  Ankle boot   +\d\.\d{4}  +\d\.\d{4}", r.stdout, re.M)
    weights = tmp_path / "mnist.npz"                  # digits: the number alone, not twice
    weights_file.save_weights(weights, mlp_np.init_params((784, 8, 10)), {"dataset": "mnist"})
    r = run("predict.py", "--weights", str(weights), "--index", "0", "--data-dir", str(tiny_idx))
    assert r.returncode == 0, r.stderr
    assert "class     NumPy   PyTorch" in r.stdout
    assert re.search(r"^    9    \d\.\d{4}    \d\.\d{4}", r.stdout, re.M), r.stdout


def test_kaggle_submission_has_the_header_the_rows_and_the_labels(tmp_path, kaggle_dir):
    weights, out = tmp_path / "w.npz", tmp_path / "submission.csv"
    params = mlp_np.init_params((784, 16, 10), seed=3)
    weights_file.save_weights(weights, params, {"dataset": "kaggle"})
    r = run("predict.py", "--weights", str(weights), "--data-dir", str(kaggle_dir),
            "--submission", str(out))
    assert r.returncode == 0, r.stderr
    assert "300 images labelled by the NumPy twin; the PyTorch twin labels 0 differently" \
        in r.stdout
    sub = pd.read_csv(out)
    assert list(sub.columns) == ["ImageId", "Label"] and len(sub) == 300
    assert sub.ImageId.tolist() == list(range(1, 301))
    from datasets import kaggle
    x = catalog.to_float(kaggle.read_unlabelled(kaggle_dir))
    assert np.array_equal(sub.Label, NP.logits(NP.build(params), x).argmax(1))


def test_a_submission_needs_kaggle_and_a_writable_place(tmp_path, kaggle_dir):
    weights = tmp_path / "w.npz"
    weights_file.save_weights(weights, mlp_np.init_params((784, 8, 10)), {"dataset": "mnist"})
    r = run("predict.py", "--weights", str(weights), "--submission", str(tmp_path / "s.csv"))
    assert r.returncode == 2 and "--submission is for --dataset kaggle, not mnist" in r.stderr
    r = run("predict.py", "--weights", str(weights), "--dataset", "kaggle", "--data-dir",
            str(kaggle_dir), "--submission", str(tmp_path / "no" / "s.csv"))
    assert r.returncode == 2 and "does not exist" in r.stderr
    assert not (tmp_path / "s.csv").exists()


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_data_dir_that_is_not_usable_is_an_error_with_no_fallback(script, tmp_path):
    (tmp_path / "empty").mkdir()
    for name in ("mnist", "fashion-mnist", "kaggle"):
        r = run(script, "--dataset", name, *TINY, "--data-dir", str(tmp_path / "empty"))
        assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
        assert str(tmp_path / "empty") in r.stderr and r.stderr.count("\n") == 1
    r = run(script, "--dataset", "mnist", *TINY, "--data-dir", str(tmp_path / "missing"))
    assert r.returncode == 1 and "is not a folder" in r.stderr
    r = run(script, "--dataset", "lines", *TINY, "--data-dir", str(tmp_path))
    assert r.returncode == 1 and "takes no --data-dir" in r.stderr


def test_compare_keeps_every_data_sets_rows_in_the_readme_table(tmp_path, kaggle_dir):
    readme = tmp_path / "README.md"
    readme.write_text("x\n<!-- datasets:start -->\n<!-- datasets:end -->\ny\n")
    base = tmp_path / "lc"
    for name, extra in (("lines", []), ("kaggle", ["--data-dir", str(kaggle_dir)])):
        r = run("compare.py", "--dataset", name, "--quick", "--no-progress", "--hidden", "16",
                "--out", str(base / name), "--readme", str(readme), *extra)
        assert r.returncode == 0, r.stderr
        assert (base / name / "results.csv").is_file() and (base / name / "accuracy.png").is_file()
    # a data set's CNN joins the table beside its MLP, in the folder default_out gives it
    r = run("compare.py", "--dataset", "lines", "--model", "cnn", "--quick", "--no-progress",
            "--channels", "2", "3", "--hidden", "8", "--out", str(base / "lines" / "cnn"),
            "--readme", str(readme))
    assert r.returncode == 0, r.stderr
    text = readme.read_text()
    assert text.startswith("x\n") and text.endswith("y\n")
    table = [line for line in text.splitlines() if line.startswith("| lines") or
             line.startswith("| kaggle")]
    assert len(table) == 6                                  # 3 networks x 2 twins
    assert [line.split("|")[4].strip() for line in table] == \
        ["MLP 784-16-10"] * 2 + ["MLP 256-16-2"] * 2 + \
        ["CNN conv 2-3 5x5 (padding 2/0, pool 2), fc 8-2"] * 2
    for name in ("lines", "lines cnn", "kaggle"):         # --quick runs: held to no target
        assert f"- {name}: a `--quick` run (the first 5,000 training" in text
    assert "Produced by `python compare.py --dataset NAME [--model cnn] --quick` for" in text
    kaggle = base / "kaggle" / "results.csv"               # one data set's rows full, not all
    pd.read_csv(kaggle).assign(quick=False).to_csv(kaggle, index=False)
    r = run("compare.py", "--from-results", "--dataset", "kaggle", "--out", str(base / "kaggle"),
            "--readme", str(readme))
    assert r.returncode == 0, r.stderr
    text = readme.read_text()
    assert "Produced by `python compare.py --dataset NAME [--model cnn]` for" in text
    assert "- lines: a `--quick` run" in text and "- kaggle: test accuracy ≥ 98.20%" in text
    for path in base.rglob("results.csv"):              # the same rows as full runs' are
        pd.read_csv(path).assign(quick=False).to_csv(path, index=False)
    r = run("compare.py", "--from-results", "--dataset", "kaggle", "--out", str(base / "kaggle"),
            "--readme", str(readme))
    assert r.returncode == 0, r.stderr
    text = readme.read_text()
    assert "- lines: test accuracy ≥ 100.00%" in text and "- lines cnn: no target set." in text
    assert "- kaggle: test accuracy ≥ 98.20%" in text
    assert "Produced by `python compare.py --dataset NAME [--model cnn]` for" in text
    results = pd.read_csv(base / "kaggle" / "results.csv")
    assert (results.dataset == "kaggle").all() and len(results) == 2
    # the table is rebuilt from the CSVs alone: byte-identical from --from-results
    before = readme.read_bytes()
    r = run("compare.py", "--from-results", "--dataset", "lines", "--out", str(base / "lines"),
            "--readme", str(readme))
    assert r.returncode == 0 and "data sets section unchanged" in r.stdout, r.stderr
    assert readme.read_bytes() == before


@pytest.mark.parametrize("model,extra", [("cnn", ["--channels", "2", "3", "--hidden", "8"]),
                                         ("mlp", ["--hidden", "8"])])
def test_an_out_folder_laid_out_otherwise_shows_its_own_run(tmp_path, model, extra):
    """--out not laid out as learning_curves/[<data set>/][<model>/]: the data sets table is
    this run's (it was built from --out's parent, another folder's results or none: an error
    after the training, the run's own rows missing)."""
    readme = tmp_path / "README.md"
    readme.write_text("x\n<!-- datasets:start -->\n<!-- datasets:end -->\ny\n")
    other = tmp_path / "lines"                   # results of another run beside it, not its own
    other.mkdir()
    (other / "results.csv").write_text("not, a, results table\n")
    r = run("compare.py", "--dataset", "lines", "--model", model, "--quick", "--no-progress",
            *extra, "--out", str(tmp_path / "odd"), "--readme", str(readme))
    assert r.returncode == 0, r.stderr
    rows = [line for line in readme.read_text().splitlines() if line.startswith("| lines")]
    assert len(rows) == 2 and all(("CNN conv 2-3" if model == "cnn" else "MLP 256-8-2") in row
                                  for row in rows)
