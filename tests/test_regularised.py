"""The networks with the layers every course adds (activations, batch norm, dropout): both twins
from the same weights give the same gradients and the same training, the general MLP is the
lesson's MLP when it adds nothing, and such a run saves, cross-loads and resumes exactly."""

import numpy as np
import pytest

import mlp_np
from conftest import rel_err
from datasets.catalog import dropout_masks
from helpers import NP, TORCH
from nets import cnn_np
from nets.dense_np import with_batch_norm
from nets.shapes import Arch
from test_cli import TINY, run, tiny  # noqa: F401  (tiny: the fixture)
from test_parity import subset
from test_resume import train_run
from training import loop, models, weights_file
from training.config import Config

ARCH = Arch((28, 28), (2, 0), (1, 1), 2)


def network_params(model, batch_norm, seed=0):
    if model == "cnn":
        params = cnn_np.init_params(ARCH, (3, 4), 5, (16,), 10, seed, "float64")
    else:
        params = mlp_np.init_params((784, 24, 12, 10), seed, "float64")
    if batch_norm:
        params = with_batch_norm(params, "float64")
        rng = np.random.default_rng(seed)                # statistics away from their start
        for k in params:
            if k.endswith(("_weight", "_bias", "_running_mean")):
                params[k] += 0.3 * rng.standard_normal(params[k].shape)
            elif k.endswith("_running_var"):
                params[k] = 0.5 + rng.random(params[k].shape)
    return params


OPTIONS = [("mlp", "tanh", True, 0.0), ("mlp", "leaky_relu", False, 0.3),
           ("mlp", "sigmoid", True, 0.5), ("mlp", "relu", True, 0.2),
           ("cnn", "relu", True, 0.25), ("cnn", "leaky_relu", False, 0.0),
           ("cnn", "tanh", True, 0.0)]


@pytest.mark.parametrize("model,activation,batch_norm,dropout", OPTIONS)
@pytest.mark.parametrize("training", [True, False])
def test_both_twins_give_the_same_gradients(model, activation, batch_norm, dropout, training):
    """Random weights and batch norm statistics, dropout masks from the shared stream, in
    training and in evaluation mode: loss and every gradient agree to 1e-10 (float64)."""
    params = network_params(model, batch_norm)
    arch = ARCH if model == "cnn" else None
    rng = np.random.default_rng(1)
    x, y = rng.random((6, 784)), rng.integers(0, 10, 6)
    nets = [twin.build(params, "ce", arch, activation, dropout) for twin in (NP, TORCH)]
    masks = dropout_masks(nets[0].dropout_widths, 6, dropout, 0, 1, 0, "float64") \
        if dropout else None
    assert nets[0].dropout_widths == nets[1].dropout_widths
    (loss_np, g_np), (loss_t, g_t) = (twin.loss_and_grads(net, x, y, 0.1, masks, training)
                                      for twin, net in zip((NP, TORCH), nets))
    assert rel_err(loss_np, loss_t) < 1e-10
    trained = {k for k in params if not k.endswith(("_running_mean", "_running_var",
                                                    "_num_batches_tracked"))}
    assert set(g_np) == set(g_t) == trained
    for k in trained:          # a bias before batch norm in training has gradient 0: noise
        assert rel_err(g_np[k], g_t[k]) < 1e-10 or np.abs(g_np[k] - g_t[k]).max() < 1e-14, k
    after = [twin.export(net) for twin, net in zip((NP, TORCH), nets)]   # statistics moved
    for k in params:
        assert rel_err(after[0][k], after[1][k]) < 1e-12, k
        if k.endswith("_running_mean"):
            assert (not np.array_equal(after[0][k], params[k])) == training, k


def test_without_additions_the_general_network_computes_as_the_lesson_did():
    """nets/dense_np.Dense with ReLU and nothing added (as the CNN's head, and every MLP with
    an option off) gives the lesson MLP's numbers bit for bit, the input's gradient too: the
    same maths in the same order."""
    from nets.dense_np import Dense
    rng = np.random.default_rng(2)
    params = mlp_np.init_params((100, 32, 16, 10), 3, "float64")
    x = rng.random((9, 100))
    lesson = mlp_np.MLP({k: v.copy() for k, v in params.items()})
    general = Dense({k: v.copy() for k, v in params.items()}, dropout=0.5)  # no masks: off
    general.training = True
    (out_a, caches_a), (out_b, caches_b) = lesson.forward(x), general.forward(x)
    assert np.array_equal(out_a, out_b)
    dlogits = rng.standard_normal(out_a.shape)
    (grads_a, dx_a), (grads_b, dx_b) = (net.backward(dlogits.copy(), caches, need_dx=True)
                                        for net, caches in ((lesson, caches_a),
                                                            (general, caches_b)))
    assert np.array_equal(dx_a, dx_b) and set(grads_a) == set(grads_b)
    assert all(np.array_equal(grads_a[k], grads_b[k]) for k in grads_a)
    assert type(NP.build(params)) is mlp_np.MLP                   # what main_np.py runs


def config(**kw):
    return Config(**{**dict(hidden=(24,), epochs=2, batch_size=64, lr=3e-3, dtype="float64",
                            seed=5, label_smoothing=0.1, ema=0.9, batch_norm=True, dropout=0.2,
                            activation="tanh"), **kw})


def train(twin, params, dataset, cfg, resume=None, stop_after=None):
    """(kept weights, history, checkpoint): tests/test_resume.py's run, by twin."""
    return train_run(twin.name, params, dataset, cfg, resume, stop_after)


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_fifty_float64_steps_with_batch_norm_dropout_and_augmentation_agree(mnist, model):
    cfg = config(model=model, epochs=1, channels=(3, 4), hidden=(16,), activation="relu",
                 dropout=0.25, augment=True)
    dataset = subset(mnist, 50 * 64, 300)
    params = models.init_params(cfg)
    (kept_np, h_np, _), (kept_t, h_t, _) = (train(twin, params, dataset, cfg)
                                            for twin in (NP, TORCH))
    a, b = np.array(h_np["step_losses"]), np.array(h_t["step_losses"])
    assert len(a) == 50 and a[-10:].mean() < a[:10].mean() and np.abs(a - b).max() < 1e-8
    assert h_np["epochs"][0]["test_acc"] == h_t["epochs"][0]["test_acc"]
    for k in kept_np:          # a bias before batch norm learns nothing: rounding noise
        norm = {"b": "bn", "c": "cbn"}.get(k[0], "") + k[1:] + "_weight"
        noise = k[1:].isdigit() and norm in kept_np
        assert (np.abs(kept_np[k] - kept_t[k]).max() < 1e-9 if noise else
                rel_err(kept_np[k], kept_t[k]) < 1e-8), k
    assert kept_np["bn1_num_batches_tracked"] == 50


def test_which_batches_of_one_image_batch_norm_cannot_train():
    """One value per feature: a dense batch norm at batch 1; a convolution's only where its
    output is 1 x 1 (torch's BatchNorm2d normalises over H W B). Where torch raises, the
    run is refused first (models.batch_problem); where it does not, it trains."""
    import torch
    run = lambda **kw: models.batch_problem(Config(**{**dict(batch_norm=True), **kw}), 600)
    assert "every batch is 1" in run(batch_size=1)
    assert "leave a last batch of 1" in run(batch_size=599)
    assert run(batch_size=598) is None and run(batch_size=1, batch_norm=False) is None
    assert run(model="cnn", channels=(2, 3), hidden=(), batch_size=1) is None
    assert "every batch is 1" in run(model="cnn", channels=(2, 3), hidden=(8,), batch_size=1)
    one_by_one = dict(model="cnn", channels=(2, 3), kernel=5, padding=(2, 0), stride=(1, 24),
                      pool=1, hidden=(), batch_size=1)      # convolution 2: 28 x 28 -> 1 x 1
    assert models.arch(Config(**one_by_one)).conv_shapes((2, 3), 5)[-1][0] == (3, 1, 1)
    assert "every batch is 1" in run(**one_by_one)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        torch.nn.BatchNorm2d(3).train()(torch.zeros(1, 3, 1, 1))
    torch.nn.BatchNorm2d(3).train()(torch.zeros(1, 3, 2, 2))   # 4 values a channel: allowed


@pytest.mark.parametrize("distortion", ["affine", "mirror"])
def test_each_step_trains_on_the_images_its_distortion_draws(mnist, distortion):
    """The loop feeds the twin augment(its batch, the --distortion's parameters, rng_for(seed,
    epoch, step)): the images of every step of two epochs, and another distortion's differ."""
    from datasets.augment import DISTORTIONS, augment, rng_for
    from datasets.catalog import batch_order
    cfg = config(model="mlp", epochs=2, batch_size=64, hidden=(8,), seed=3, augment=True,
                 distortion=distortion)
    dataset, twin, seen = subset(mnist, 3 * 64, 100), NP.__class__(), []
    step = twin.train_step
    twin.train_step = lambda model, x, *a: seen.append(x.copy()) or step(model, x, *a)
    loop.train(twin, models.build(twin, cfg, models.init_params(cfg)), dataset, cfg,
               progress=False, log=lambda *a: None)
    shape, other = dataset.spec.image_shape, {"affine": "mirror", "mirror": "affine"}[distortion]
    expected = [augment(dataset.x_train[idx], shape, rng_for(3, epoch, i), DISTORTIONS[name])
                for name in (distortion, other) for epoch in (1, 2)
                for i, idx in enumerate(batch_order(3 * 64, 64, 3, epoch))]
    assert len(seen) == 6 and all(np.array_equal(a, b) for a, b in zip(seen, expected[:6]))
    assert not any(np.array_equal(a, b) for a, b in zip(seen, expected[6:]))


@pytest.mark.parametrize("twin,tol", [(NP, 0), (TORCH, 1e-12)])
def test_a_run_with_batch_norm_stopped_and_resumed_equals_one_never_stopped(mnist, tmp_path,
                                                                              twin, tol):
    """Stopped at step 13 of 20 (not a multiple of the average's 4), saved, read back and
    resumed: the same kept weights, statistics and losses; and the other twin resumes it."""
    cfg = config()
    dataset = subset(mnist, 10 * 64, 500)
    params = models.init_params(cfg)
    straight, history, _ = train(twin, params, dataset, cfg)
    _, _, checkpoint = train(twin, params, dataset, cfg, stop_after=13)
    path = tmp_path / "run.npz"
    weights_file.save_weights(path, checkpoint["weights"], cfg.to_dict(), checkpoint)
    from training.start import resumed
    start, saved_cfg, resume = resumed(path)
    assert saved_cfg == cfg and resume["step"] == 13
    for resumer, limit in ((twin, tol), (TORCH if twin is NP else NP, 1e-9)):
        kept, again, _ = train(resumer, start, dataset, cfg, resume=resume)
        assert set(kept) == set(straight)
        for k in straight:
            assert (np.array_equal(kept[k], straight[k]) if limit == 0 else
                    rel_err(kept[k], straight[k]) < limit), k
        assert np.abs(np.subtract(again["step_losses"], history["step_losses"])).max() <= \
            max(limit, 0) * 10


def test_options_through_the_commands_save_load_and_evaluate_across_twins(tiny, tmp_path):
    saved = tmp_path / "w.npz"
    flags = ["--batch-norm", "--dropout", "0.2", "--activation", "leaky_relu"]
    r = run("main_torch.py", *TINY, *flags, "--data-dir", str(tiny), "--save", str(saved))
    assert r.returncode == 0, r.stderr
    assert "MLP 784-16-10, leaky_relu, batch norm, dropout 0.2" in r.stdout
    params, config = weights_file.load_weights(saved)
    assert {"bn1_weight", "bn1_running_var", "bn1_num_batches_tracked"} <= set(params)
    assert config["activation"] == "leaky_relu" and params["bn1_num_batches_tracked"] == 12
    evals = [run(s, "--load", str(saved), "--eval", "--data-dir", str(tiny))
             for s in ("main_np.py", "main_torch.py")]
    assert [e.returncode for e in evals] == [0, 0], [e.stderr for e in evals]
    assert evals[0].stdout.split("test acc ")[1] == evals[1].stdout.split("test acc ")[1]
    r = run("main_np.py", "--load", str(saved), "--activation", "tanh", "--eval",
            "--data-dir", str(tiny))
    assert r.returncode == 2 and "--activation tanh differs from its leaky_relu" in r.stderr
    r = run("predict.py", "--weights", str(saved), "--index", "3", "--data-dir", str(tiny))
    assert r.returncode == 0 and "NumPy says" in r.stdout, r.stderr


def test_a_file_whose_batch_norm_is_incomplete_is_refused(tmp_path):
    params = with_batch_norm(mlp_np.init_params((784, 8, 10)))
    del params["bn1_running_var"]
    weights_file.save_weights(tmp_path / "w.npz", params, {"dataset": "mnist"})
    with pytest.raises(weights_file.FileError, match="missing bn1_running_var"):
        weights_file.load_weights(tmp_path / "w.npz")
    params = with_batch_norm(mlp_np.init_params((784, 8, 10)))
    params["bn1_weight"] = params["bn1_weight"][:5]
    weights_file.save_weights(tmp_path / "w.npz", params, {"dataset": "mnist"})
    with pytest.raises(weights_file.FileError, match="bn1_weight should have 8 entries"):
        weights_file.load_weights(tmp_path / "w.npz")
