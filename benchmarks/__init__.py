"""The benchmarks bench.py runs, each on its own: one training step of the MLP twins against the
matrix products' ceiling (mlp_step.py), the same for the CNN with the time of every hand-written
layer (cnn_step.py), reading Kaggle's CSV against a bare pandas read (kaggle_csv.py), what
--augment costs (augment_cost.py, run as `python -m benchmarks.augment_cost`), and the CNN
twins' peak memory over a run (cnn_memory.py, `python -m benchmarks.cnn_memory`). The way they
time is timing.py's."""
