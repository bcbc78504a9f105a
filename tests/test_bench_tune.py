"""bench.py and tune.py: the flop count, the files and README sections they write, the rule."""
import numpy as np
import pandas as pd

import bench
import tune
from test_cli import run


def test_step_flops_count_five_products_for_one_hidden_layer():
    B, H = 32, 100
    forward = 2 * B * 784 * H + 2 * B * H * 10
    weight_grads = 2 * B * 784 * H + 2 * B * H * 10
    input_grad_of_layer_2 = 2 * B * 10 * H          # none for layer 1: pixels do not learn
    assert bench.step_flops((784, H, 10), B) == forward + weight_grads + input_grad_of_layer_2
    assert bench.step_flops((784, 8, 6, 10), 1) == 2 * (2 * (784 * 8 + 8 * 6 + 6 * 10) + 8 * 6 + 6 * 10)


def test_bench_writes_its_table_plot_and_readme_section(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("a\n<!-- bench:start -->\nold\n<!-- bench:end -->\nb\n")
    r = run("bench.py", "--widths", "64", "--batches", "16", "32", "--repeats", "3",
            "--out", str(tmp_path), "--readme", str(readme))
    assert r.returncode == 0, r.stderr
    results = pd.read_csv(tmp_path / "bench.csv")
    assert list(results.batch) == [16, 32] and (tmp_path / "bench.png").stat().st_size > 0
    for column in ("numpy_ms", "torch_ms", "ceiling_numpy_ms", "numpy_gflops", "numpy_over_torch"):
        assert np.isfinite(results[column]).all() and (results[column] > 0).all()
    assert (results.numpy_share_of_ceiling > 0).all()
    text = readme.read_text()
    assert text.startswith("a\n<!-- bench:start -->") and text.endswith("<!-- bench:end -->\nb\n")
    assert "\nold\n" not in text and "Median NumPy / PyTorch step-time ratio" in text


def test_bench_rejects_a_zero_width():
    r = run("bench.py", "--widths", "0")
    assert r.returncode == 2 and "--widths must be positive" in r.stderr


def test_tune_chooses_the_highest_final_validation_accuracy():
    table = pd.DataFrame(dict(candidate=[0, 1, 2], hidden=["8", "16", "32"], optimizer="adam",
                              lr=1e-3, weight_decay=0.0, batch_size=64, epochs=[5, 5, 9],
                              final_val_acc=[0.97, 0.98, 0.98], best_val_acc=0.99,
                              first_epoch_98=3, train_seconds=[1.0, 2.0, 3.0]))
    assert tune.chosen(table).candidate == 1           # tie on accuracy: the shorter run
    section = tune.readme_section(table)
    assert "Chosen (highest final validation accuracy): candidate 1, hidden 16" in section
    assert "97.00–98.00%" in section
