"""What the commands share: the process set-up every command imports first (process.py), and
training one twin from the command line (run.py, for main_np.py and main_torch.py)."""
