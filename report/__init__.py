"""What the runs' results become: the README's generated sections (results_tables.py,
models_table.py, tuning_table.py; verdicts.py: how they judge), the pictures (figures.py), and
the line naming the machine they were measured on (machine.py)."""
