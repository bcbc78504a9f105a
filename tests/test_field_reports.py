"""The field reports (issue 17) met through the commands, as a user meets them: a finished run is
never lost, an error names the real cause, the numbers shown are the numbers meant. Each case
given in the report, with its right value, and one more of the same kind. (Pictures:
tests/test_picture*.py; the data sets' identity: tests/test_identity.py.)"""
import json
import signal

import numpy as np
import pytest

import mlp_np
from conftest import ROOT, rel_err
from helpers import NP, interrupt, write_mnist
from test_cli import TINY, run, tiny  # noqa: F401  (tiny: the fixture)
from training import loop, weights_file
from training.config import Config


# --- a finished run is never lost ------------------------------------------------------------

@pytest.mark.parametrize("flag", ["--save", "--history"])
def test_an_output_path_that_is_a_folder_is_refused_before_training(tiny, tmp_path, flag):
    (tmp_path / "runs").mkdir()
    r = run("main_np.py", *TINY, "--data-dir", str(tiny), flag, str(tmp_path / "runs"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"{flag}: cannot write {tmp_path / 'runs'}: it is a folder" in r.stderr
    assert "epoch" not in r.stdout                               # nothing was trained


def test_save_and_history_naming_one_file_are_refused(tiny, tmp_path):
    same = str(tmp_path / "out")
    r = run("main_torch.py", *TINY, "--data-dir", str(tiny), "--save", same, "--history", same)
    assert r.returncode == 2 and "--save and --history name the same file" in r.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_stop_like_ctrl_c_and_keep_everything(tmp_path, sig):
    """What `timeout`, a job scheduler or `docker stop` (SIGTERM), or a closed terminal
    (SIGHUP) sends: the step finishes, weights, checkpoint and history are saved, exit
    128 + the signal; the file resumes."""
    tiny = write_mnist(tmp_path / "tiny")
    history, weights = tmp_path / "h.json", tmp_path / "w.npz"
    args = [*TINY[:2], "--epochs", "60", "--batch-size", "50", "--no-progress",
            "--data-dir", str(tiny), "--history", str(history), "--save", str(weights)]
    code, out, err = interrupt(["main_np.py", *args], ROOT, when="epoch  2/", sig=sig)
    assert code == 128 + sig, err
    assert f"interrupted by {signal.Signals(sig).name}: saved" in out and "Traceback" not in err
    assert json.loads(history.read_text())["interrupted"] is True
    checkpoint, config = weights_file.load_checkpoint(weights)
    assert config["interrupted"] is True and checkpoint["step"] >= 2 * 12
    r = run("main_torch.py", "--resume", str(weights), "--data-dir", str(tiny), "--no-progress")
    assert r.returncode == 0 and "epoch 60/60" in r.stdout, r.stderr


def test_sigterm_stops_compare_with_its_own_exit_code(mnist, tmp_path):
    code, _, err = interrupt(["compare.py", "--hidden", "32", "--epochs", "50", "--no-progress",
                              "--no-readme", "--out", str(tmp_path)], ROOT, when="epoch  1/",
                             sig=signal.SIGTERM)
    assert code == 143 and "interrupted: no results written" in err
    assert not (tmp_path / "results.csv").exists()


# The final write fails although the paths were checked before training: the folder is removed
# while training (the report's case), or the disk is full (invented, the same kind).
LOSE_FOLDER = ("import shutil, training.loop as L\n"
               "_record = L.Run.record\n"
               "def record(self, *a):\n"
               "    out = _record(self, *a)\n"
               "    shutil.rmtree({folder!r}, ignore_errors=True)\n"
               "    return out\n"
               "L.Run.record = record\n")
DISK_FULL = ("import errno, os\n"
             "_fsync = os.fsync\n"
             "def fsync(fd):\n"
             "    if {folder!r} in os.readlink(f'/proc/self/fd/{{fd}}'):\n"
             "        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))\n"
             "    return _fsync(fd)\n"
             "os.fsync = fsync\n")


@pytest.mark.parametrize("patch,cause", [(LOSE_FOLDER, "No such file or directory"),
                                         (DISK_FULL, "No space left on device")])
def test_weights_that_cannot_be_written_go_to_a_rescue_file(tiny, tmp_path, patch, cause):
    folder = tmp_path / "out"
    folder.mkdir()
    r = run("main_np.py", *TINY, "--data-dir", str(tiny), "--save", str(folder / "w.npz"),
            patch=patch.format(folder=str(folder)))
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    line = r.stderr.strip().splitlines()[-1]
    assert f"cannot write {folder / 'w.npz'}: {cause}; it was saved in " in line
    rescue = line.split("it was saved in ")[1].split(" instead")[0]
    params, config = weights_file.load_weights(rescue)               # whole and usable
    assert params["W1"].shape == (16, 784) and config["twin"] == "numpy"


def test_checkpoint_every_epoch_survives_a_kill_and_resumes_as_never_stopped(mnist, tmp_path):
    """kill -9 leaves nothing to a signal handler: the checkpoint written after each epoch is
    what is left, and resuming it gives the run that was never killed (float64)."""
    common = ["--hidden", "24", "--val-size", "57440", "--batch-size", "64", "--dtype",
              "float64", "--ema", "0.9", "--no-progress"]       # 2,560 images: 40 steps/epoch
    straight = tmp_path / "straight.json"
    r = run("main_np.py", *common, "--epochs", "3", "--history", str(straight))
    assert r.returncode == 0, r.stderr
    saved = tmp_path / "w.npz"
    code, out, _ = interrupt(["main_np.py", *common, "--epochs", "3", "--save", str(saved),
                              "--checkpoint-every", "1"], ROOT, when="epoch  2/",
                             sig=signal.SIGKILL)
    assert code == -signal.SIGKILL
    checkpoint, _ = weights_file.load_checkpoint(saved)
    assert checkpoint["step"] in (40, 80)               # epoch 1's or 2's: never a torn file
    resumed = tmp_path / "resumed.json"
    r = run("main_np.py", "--resume", str(saved), "--history", str(resumed), "--no-progress")
    assert r.returncode == 0, r.stderr
    a, b = (json.loads(p.read_text()) for p in (straight, resumed))
    assert a["step_losses"] == b["step_losses"]
    assert a["epochs"][-1]["val_acc"] == b["epochs"][-1]["val_acc"]


def test_checkpoint_every_needs_a_file(tiny):
    r = run("main_np.py", *TINY, "--data-dir", str(tiny), "--checkpoint-every", "2")
    assert r.returncode == 2 and "--checkpoint-every saves over the --save file" in r.stderr


# --- an error names the real cause -----------------------------------------------------------

@pytest.mark.parametrize("args,message", [
    (["--batch-size", "10000000"], "--batch-size 10000000 is larger than the 60000 training"),
    # invented: a network too large for memory too; the batch is the first thing wrong
    (["--batch-size", "70000", "--hidden", "200000000"], "--batch-size 70000 is larger than"),
    (["--val-size", "59990", "--batch-size", "64"], "--batch-size 64 is larger than the 10 "),
])
def test_flags_are_checked_against_the_data_before_memory(mnist, args, message):
    r = run("main_np.py", *args, "--no-progress")
    assert r.returncode == 2 and message in r.stderr and "smaller network" not in r.stderr


def test_a_single_neuron_that_died_is_said_to_have_died(mnist):
    """784-1-10 with MSE: its one ReLU unit falls silent; 'lower the learning rate' was the
    advice, at every learning rate."""
    r = run("main_np.py", "--hidden", "1", "--loss", "mse", "--epochs", "1", "--val-size",
            "50000", "--no-progress")
    assert r.returncode == 1, r.stderr
    assert "hidden layer 1 (1 units) gives 0 on every training image (its ReLU units died)" \
        in r.stderr and "lower learning rate" not in r.stderr
    assert "or --output-init zero: the output layer starts at 0" in r.stderr     # the cure


def test_a_dead_neuron_is_told_the_cure_only_where_it_is_not_taken(mnist, tiny, tmp_path):
    """Invented, the same kind: the README's loss without its --output-init dies too and is told
    of --output-init zero; a silent MLP whose output layer already started at 0 is not."""
    r = run("main_np.py", "--hidden", "1", "--loss", "softmax_mse", "--epochs", "1",
            "--val-size", "50000", "--no-progress")
    assert r.returncode == 1 and "(its ReLU units died)" in r.stderr, r.stderr
    assert "--output-init zero" in r.stderr
    from training import models
    cfg = Config.for_run("mnist", "mlp", hidden=(16,), output_init="zero")
    params = models.init_params(cfg)
    params["b1"][:] = -100                                  # every unit silent from the start
    weights_file.save_weights(tmp_path / "w.npz", params, cfg.to_dict())
    r = run("main_np.py", "--load", str(tmp_path / "w.npz"), "--hidden", "16", *TINY[2:],
            "--output-init", "zero", "--data-dir", str(tiny))
    assert r.returncode == 1 and "(its ReLU units died)" in r.stderr, r.stderr
    assert "--output-init" not in r.stderr


@pytest.mark.parametrize("model,script", [("mlp", "main_torch.py"), ("cnn", "main_torch.py"),
                                          ("cnn", "main_np.py")])
def test_a_network_started_silent_is_said_to_have_died(tiny, tmp_path, model, script):
    """Invented, the same kind: weights whose first layer's biases are -100, so that every unit
    (or channel) is silent from the first step; training cannot revive them. main_np.py runs
    the check with the NumPy twin's threads, which split the CNN's channels into blocks."""
    shape = ["--channels", "3", "4", "--hidden", "8"] if model == "cnn" else ["--hidden", "16"]
    cfg = Config.for_run("mnist", model, **({"channels": (3, 4), "hidden": (8,)}
                                            if model == "cnn" else {"hidden": (16,)}))
    from training import models
    params = models.init_params(cfg)
    params["c1" if model == "cnn" else "b1"][:] = -100
    weights_file.save_weights(tmp_path / "w.npz", params, cfg.to_dict())
    r = run(script, "--load", str(tmp_path / "w.npz"), "--model", model, *shape,
            *TINY[2:], "--data-dir", str(tiny))
    assert r.returncode == 1, r.stderr
    silent = "convolution 1 (3 channels)" if model == "cnn" else "hidden layer 1 (16 units)"
    assert f"{silent} gives 0 on every training image (its ReLU units died)" in r.stderr


def labels_of_another_set(tmp_path, mnist, n_train=2000):
    """A folder of MNIST's first n_train training images and its test images, whose test labels
    are shifted by one class: files that do not belong together."""
    from helpers import idx_bytes
    images = lambda x: np.round(x * 255).reshape(-1, 28, 28)
    files = {"train-images-idx3-ubyte": idx_bytes(images(mnist.x_train[:n_train]), 2051),
             "train-labels-idx1-ubyte": idx_bytes(mnist.y_train[:n_train], 2049),
             "t10k-images-idx3-ubyte": idx_bytes(images(mnist.x_test[:1000]), 2051),
             "t10k-labels-idx1-ubyte": idx_bytes((mnist.y_test[:1000] + 1) % 10, 2049)}
    return write_mnist(tmp_path / "mixed", files)


@pytest.mark.parametrize("folder", ["tiny", "mnist"])
def test_held_out_labels_that_do_not_belong_are_named(tmp_path, mnist, folder):
    """Training images learnt, held-out ones at chance: the held-out files are at fault, not
    the learning rate (the report: MNIST's images with another set's test labels; a tiny
    synthetic set whose test labels are shuffled, invented)."""
    if folder == "tiny":
        from helpers import idx_bytes, tiny_mnist
        files = tiny_mnist()
        files["t10k-labels-idx1-ubyte"] = idx_bytes(np.random.default_rng(0).integers(0, 10, 100),
                                                    2049)
        data_dir = write_mnist(tmp_path / "d", files)
        args = ["--hidden", "16", "--epochs", "5", *TINY[4:]]
    else:
        data_dir = labels_of_another_set(tmp_path, mnist)
        args = ["--hidden", "64", "--epochs", "3", "--no-progress"]
    r = run("main_np.py", *args, "--data-dir", str(data_dir))
    assert r.returncode == 1, r.stderr
    assert "while the training images are learnt" in r.stderr
    assert "do not belong with the training files" in r.stderr and "--lr" not in r.stderr


# --- the numbers shown are the numbers meant -------------------------------------------------

def test_a_three_step_run_keeps_the_average_of_its_steps_not_the_initial_weights(mnist):
    """The report: --batch-size 60000 --epochs 3 --lr 0.01 reported 9.2% and 'training failed'
    (the average moved every 4th step, so never); 65% without the average."""
    r = run("main_np.py", "--batch-size", "60000", "--epochs", "3", "--lr", "0.01",
            "--no-progress")
    assert r.returncode == 0, r.stderr
    accuracy = float(r.stdout.split("final test accuracy ")[1].split("%")[0])
    assert accuracy > 50


@pytest.mark.parametrize("steps", [1, 3, 6])
def test_the_kept_average_includes_every_step(mnist, steps):
    """Invented, the same kind, held to the definition: after any number of steps the kept
    weights are the average of every step's weights (float64, the twin's own schedule: four
    steps at a time, the rest added when it is kept), and they are what was scored."""
    cfg = Config(hidden=(16,), epochs=1, batch_size=64, lr=1e-2, dtype="float64", ema=0.99,
                 schedule="constant")
    from test_parity import subset
    dataset = subset(mnist, steps * 64)
    params = mlp_np.init_params(cfg.sizes(), 0, "float64")
    model = NP.build(params)
    trained = []                                  # the weights after each step
    step = NP.train_step
    twin = type(NP)()
    def remember(*a, **kw):
        out = step(*a, **kw)
        trained.append(NP.export(model))
        return out
    twin.train_step = remember
    history = loop.train(twin, model, dataset, cfg, progress=False, log=lambda *a: None)
    expected, done = dict(params), 0              # every step, at 4 and at the end
    for s in [s for s in range(steps) if (s + 1) % 4 == 0] + [steps - 1]:
        if s + 1 > done:
            d = min(cfg.ema, (1 + s) / (10 + s)) ** (s + 1 - done)
            expected = {k: d * expected[k] + (1 - d) * trained[s][k] for k in params}
            done = s + 1
    kept = NP.export(model)
    assert all(rel_err(kept[k], expected[k]) < 1e-12 for k in params)
    _, acc = loop.evaluate(NP, model, dataset.x_test, dataset.y_test)
    assert acc == history["epochs"][-1]["test_acc"]


def test_the_epoch_line_shows_like_with_like_and_labels_the_objective(tiny, tmp_path):
    """The report: the label-smoothed training loss (floor 0.5 at smoothing 0.1) stood beside
    the plain test loss, unlabelled, and was read as overfitting."""
    history = tmp_path / "h.json"
    r = run("main_np.py", *TINY[:-3], "--ema", "0", "--label-smoothing", "0.1",
            "--no-progress", "--data-dir", str(tiny), "--history", str(history))
    assert r.returncode == 0, r.stderr
    line = next(line for line in r.stdout.splitlines() if "epoch  1/1" in line)
    epoch = json.loads(history.read_text())["epochs"][0]
    assert f"train loss {epoch['train_eval_loss']:.4f}  test loss {epoch['test_loss']:.4f}" \
        in line                                   # both plain, of the network evaluated
    assert f"objective {epoch['train_loss']:.4f} (mean step loss, label-smoothed 0.1)" in line
    r = run("main_torch.py", *TINY, "--label-smoothing", "0", "--data-dir", str(tiny))
    assert "(mean step loss)" in r.stdout and "label-smoothed" not in r.stdout


@pytest.mark.parametrize("script,args", [
    ("compare.py", ["--hidden", "8", "--epochs", "1"]),
    ("tune.py", ["--dataset", "lines", "--only", "0"]),
    ("bench.py", ["--widths", "8", "--batches", "8", "--repeats", "1"]),
])
def test_a_readme_without_its_markers_is_refused_before_the_run(tmp_path, script, args):
    """The page a command rewrites is checked before hours of work, not after them."""
    page = tmp_path / "README.md"
    page.write_text("no markers here\n")
    r = run(script, *args, "--readme", str(page))
    assert r.returncode == 2 and f"{page} must hold one <!--" in r.stderr, r.stderr
    assert "epoch" not in r.stdout and page.read_text() == "no markers here\n"


@pytest.mark.parametrize("script,args,ignored", [
    ("compare.py", ["--from-results", "--epochs", "5", "--seeds", "3"], "--epochs, --seeds"),
    ("tune.py", ["--from-table", "--only", "1"], "--only"),
])
def test_flags_a_file_decides_are_refused_not_ignored(script, args, ignored):
    r = run(script, *args)
    assert r.returncode == 2 and f"{ignored} would do nothing" in r.stderr, r.stderr


@pytest.mark.parametrize("script,abbreviated,meant", [
    ("main_np.py", ["--out", "x"], "--output-init"),           # the user's case: not a prefix
    ("main_torch.py", ["--epoch", "1"], "--epochs"),
    ("compare.py", ["--no-prog"], "--no-progress"),
    ("bench.py", ["--repeat", "2"], "--repeats"),
    ("tune.py", ["--onl", "0"], "--only"),
    ("predict.py", ["--ind", "0"], "--index"),
    ("app.py", ["--por", "1"], "--port"),
])
def test_a_flag_is_taken_by_its_whole_name_only(script, abbreviated, meant):
    """argparse takes any unambiguous prefix of a flag by default: `--out DIR` silently meant
    `--output-init`, and its value was then refused as a choice of a flag never typed."""
    r = run(script, *(["--weights", "w.npz"] if script == "predict.py" else []), *abbreviated)
    assert r.returncode == 2 and f"unrecognized arguments: {' '.join(abbreviated)}" in r.stderr, \
        r.stderr
    assert meant not in r.stderr.splitlines()[-1]


def test_every_command_line_refuses_abbreviated_flags():
    """Each ArgumentParser of the project is made with allow_abbrev=False (a command added
    later is held to it too)."""
    import re
    made = {}
    for path in ROOT.rglob("*.py"):
        if ".venv" in path.parts or "tests" in path.parts:
            continue
        for call in re.findall(r"ArgumentParser\((.*?)\)\n", path.read_text(), re.S):
            made[path.relative_to(ROOT).as_posix()] = "allow_abbrev=False" in call
    assert len(made) >= 9 and all(made.values()), made


@pytest.mark.parametrize("command", ["train", "predict"])
def test_a_reader_that_leaves_stops_the_output_not_the_command(tiny, tmp_path, command):
    """`python predict.py ... | head -3` ended in a BrokenPipeError traceback; a training run
    piped to `head` would have died at its next line, its weights unsaved. The reader goes
    away before the first line here: the command carries on, silent, and does all it would."""
    import subprocess
    import sys
    weights = tmp_path / "w.npz"
    args = {"train": ["main_np.py", *TINY, "--epochs", "2", "--data-dir", str(tiny),
                      "--save", str(weights)],
            "predict": ["predict.py", "--weights", str(weights), "--index", "0",
                        "--data-dir", str(tiny)]}[command]
    if command == "predict":
        assert run("main_np.py", *TINY, "--data-dir", str(tiny), "--save",
                   str(weights)).returncode == 0
    child = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    child.stdout.close()                       # the reader leaves at once
    err = child.stderr.read()
    assert child.wait(timeout=300) == 0 and "Traceback" not in err and "Broken" not in err, err
    if command == "train":
        assert weights_file.load_checkpoint(weights)[0]["history"]["epochs"][-1]["epoch"] == 2


@pytest.mark.parametrize("make,said", [
    (lambda d: (d / "f").write_text("x") and d / "f", "cannot write into {}: File exists"),
    (lambda d: (d / "f").write_text("x") and d / "f" / "x", "cannot write into {}: Not a "
                                                              "directory"),
    (lambda d: (d / "k" / "train.csv").mkdir(parents=True) or d / "k",
     "cannot write {}/train.csv: it is a folder"),
])
def test_kaggle_csvs_made_from_mnist_refuse_a_folder_they_cannot_fill(mnist, tmp_path, make,
                                                                       said):
    """python -m datasets.kaggle OUT: an OUT that is a file, inside a file, or a train.csv that
    is a folder gave tracebacks; now one line, before MNIST is read."""
    import subprocess
    import sys
    out = make(tmp_path)
    r = subprocess.run([sys.executable, "-m", "datasets.kaggle", str(out)], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith(
        "datasets/kaggle.py: error: " + said.format(out)), r.stderr
