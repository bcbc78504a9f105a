"""Everything between the command line and the twins: the hyperparameters (config.py) and their
defaults, searches and targets (defaults.py), the models a config names (models.py), the one
training loop (loop.py) and its schedules (schedule.py), where a run starts (start.py), the
weights and checkpoint files (weights_file.py, and what a file read back must hold:
file_checks.py), both twins in lockstep (lockstep.py), and the rule that chooses defaults
(tuning.py). Imports no twin: the twins are passed in."""
