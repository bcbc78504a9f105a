"""A weights file edited by hand (a hostile tester re-saving a valid one with
d['config'] = np.array(json.dumps(c))): every field its config or checkpoint record holds is
checked when it is read, and a wrong one is a one-line FileError naming the file and the field,
in every command, before anything is built or trained; never a traceback, a silent run on
nonsense, or a finished epoch lost."""
import json

import numpy as np
import pytest

from page.models import Model
from storage.atomic import FileError
from training import weights_file
from training.start import resumed
from test_cli import run

LINES = ["--dataset", "lines", "--hidden", "4", "--epochs", "1", "--no-progress"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """{"mlp": path, "cnn": path} of two valid checkpoints, as the commands save them."""
    folder = tmp_path_factory.mktemp("valid")
    paths = {"mlp": folder / "mlp.npz", "cnn": folder / "cnn.npz"}
    for name, extra in (("mlp", []), ("cnn", ["--model", "cnn", "--channels", "2", "3"])):
        r = run("main_np.py", *LINES, *extra, "--save", str(paths[name]))
        assert r.returncode == 0, r.stderr
    return paths


def edited(src, dst, config=None, raw_config=None, record=None):
    """A copy of the weights file `src` at `dst`, its config updated with `config` (or replaced
    by `raw_config`) and its checkpoint record by `record`(record)."""
    with np.load(src) as f:
        arrays = {k: f[k] for k in f.files}
    recorded = json.loads(str(arrays["config"]))
    arrays["config"] = np.array(json.dumps(raw_config if raw_config is not None
                                           else dict(recorded, **(config or {}))))
    if record:
        checkpoint = json.loads(str(arrays["checkpoint"]))
        record(checkpoint)
        arrays["checkpoint"] = np.array(json.dumps(checkpoint))
    np.savez(dst, **arrays)
    return dst


def refused(read, path, *names):
    """The FileError of read(path): one line naming the file and every name given."""
    with pytest.raises(FileError) as e:
        read(path)
    message = str(e.value)
    assert "\n" not in message and str(path) in message, message
    for name in names:
        assert name in message, message
    return message


# (model, edit of its config, what the message says) of every reported case, then an invented
# one of the same kind: a negative padding was "the image shrinks to nothing".
CONFIGS = [
    ("mlp", dict(raw_config=[1, 2]), "config must be a JSON object"),
    ("mlp", dict(raw_config=5), "config must be a JSON object"),
    ("mlp", dict(config={"dataset": ["lines"]}), "dataset must be text"),
    ("mlp", dict(config={"dataset": "foo"}),
     "dataset is 'foo', a data set this project does not know (mnist, fashion-mnist"),
    ("mlp", dict(config={"dataset": None}), "dataset must be text, got null"),
    ("cnn", dict(config={"pool": 0}), "pool must be at least 1, got 0"),
    ("cnn", dict(config={"stride": [0]}), "stride must be >= 1, got [0]"),
    ("cnn", dict(config={"pool": 2.5}), "pool must be an integer, got 2.5"),
    ("cnn", dict(config={"padding": [True, False]}), "padding must be a list of integers"),
    ("mlp", dict(config={"activation": "bogus"}), "activation must be one of relu"),
    ("mlp", dict(config={"activation": None}), "activation must be text, got null"),
    ("mlp", dict(config={"loss": "bogus"}), "loss must be one of ce, mse"),
    ("mlp", dict(config={"loss": 5}), "loss must be text, got 5"),
    ("cnn", dict(config={"padding": [-1]}), "padding must be >= 0, got [-1]"),     # invented
]


@pytest.mark.parametrize("model,edit,message", CONFIGS)
def test_a_recorded_config_field_of_the_wrong_kind_or_value_is_refused_in_one_line(
        saved, tmp_path, model, edit, message):
    path = edited(saved[model], tmp_path / "bad.npz", **edit)
    assert message in refused(weights_file.load_weights, path)
    refused(Model.load, path)                                     # app.py's reader too
    refused(resumed, path)


def test_every_command_reports_a_bad_config_in_one_line(saved, tmp_path):
    """main_np.py/main_torch.py --load --eval, predict.py and --resume: exit 1, one line naming
    the file and the field (they were tracebacks: AttributeError, KeyError, ZeroDivisionError)."""
    pool = str(edited(saved["cnn"], tmp_path / "pool.npz", config={"pool": 0}))
    dataset = str(edited(saved["mlp"], tmp_path / "dataset.npz", config={"dataset": "foo"}))
    for script, args, path, field in (
            ("main_np.py", ["--load", pool, "--eval"], pool, "pool"),
            ("main_torch.py", ["--load", dataset, "--eval"], dataset, "dataset"),
            ("predict.py", ["--weights", dataset, "--index", "0"], dataset, "dataset"),
            ("main_np.py", ["--resume", pool, "--epochs", "2"], pool, "pool")):
        r = run(script, *args)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 1 and len(lines) == 1, r.stderr
        assert path in lines[0] and f"config's {field} " in lines[0], r.stderr


# (edit of a checkpoint's config or record, what the message says): every reported case, then
# invented ones of the same kind: Adam's moments under a config saying momentum (the NumPy
# twin's KeyError, the torch twin's silent fresh start) and a width the weights do not have.
RESUMES = [
    (dict(config={"batch_size": 0}), "batch_size must be at least 1, got 0"),
    (dict(config={"batch_size": "64"}), 'batch_size must be an integer, got "64"'),
    (dict(config={"dtype": "float8"}), "dtype must be one of float32, float64"),
    (dict(config={"lr": "abc"}), 'lr must be a number, got "abc"'),
    (dict(config={"optimizer": "bogus"}), "optimizer must be one of sgd, momentum"),
    (dict(config={"seed": -1}), "seed must be >= 0, got -1"),
    (dict(config={"schedule": "bogus"}), "schedule must be one of constant, cosine"),
    (dict(config={"twin": "bogus"}), "twin must be one of numpy, torch"),
    (dict(record=lambda c: c.update(step=-5)), "step must be an integer >= 0, got -5"),
    (dict(record=lambda c: c.update(step=2.5)), "step must be an integer >= 0, got 2.5"),
    (dict(record=lambda c: c.update(step="x")), "step must be an integer >= 0"),
    (dict(record=lambda c: c.update(optimizer_step="x")), "optimizer_step must be an integer"),
    (dict(record=lambda c: c["history"].update(epochs="x")), "history.epochs must be a list"),
    (dict(config={"optimizer": "momentum"}), "optimizer momentum keeps momentum_buffer"),
    (dict(config={"hidden": [99]}), "config's hidden is [99], but its weights have [4]"),
]


@pytest.mark.parametrize("edit,message", RESUMES)
def test_a_checkpoint_with_a_field_no_run_could_have_is_refused_before_training(
        saved, tmp_path, edit, message):
    path = edited(saved["mlp"], tmp_path / "bad.npz", **edit)
    assert message in refused(resumed, path)


def test_a_bad_checkpoint_record_stops_resume_before_any_epoch_and_keeps_the_file(saved,
                                                                                 tmp_path):
    """history.epochs "x" trained a whole epoch, then crashed: the epoch was lost."""
    path = edited(saved["mlp"], tmp_path / "bad.npz",
                  record=lambda c: c["history"].update(epochs="x"))
    before = path.read_bytes()
    r = run("main_torch.py", "--resume", str(path), "--epochs", "2", "--no-progress")
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert "history.epochs must be a list" in r.stderr and "epoch" not in r.stdout
    assert path.read_bytes() == before


def test_valid_files_and_older_partial_configs_still_load_and_resume(saved, tmp_path):
    for model in ("mlp", "cnn"):
        params, cfg, checkpoint = resumed(saved[model], epochs=2)
        assert cfg.epochs == 2 and checkpoint["step"] > 0 and cfg.model == model
    path = tmp_path / "old.npz"                    # a config from before most fields existed
    weights_file.save_weights(path, weights_file.load_weights(saved["mlp"])[0],
                              {"dataset": "lines", "hidden": [4]})
    _, config = weights_file.load_weights(path)
    assert config == {"dataset": "lines", "hidden": [4]}
