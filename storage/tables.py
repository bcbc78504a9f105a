"""Reading back the tables the commands wrote (results, models, tuning tables): one that a hand,
a crash or another version changed is refused in one line naming the file and what is wrong,
before any work or any page depends on it."""
from pathlib import Path

from storage.atomic import FileError


def read_table(path, what, columns=(), numeric=()):
    """The CSV at `path` (a `what`, e.g. "results table") as a DataFrame. FileError if it cannot
    be read, is not UTF-8 CSV, holds no rows, lacks one of `columns`, or holds anything but
    numbers (or blanks) in one of `numeric`."""
    import pandas as pd
    path = Path(path)
    try:
        table = pd.read_csv(path)
    except OSError as e:
        raise FileError(f"{path} cannot be read ({e.strerror or e})")
    except UnicodeDecodeError:
        raise FileError(f"{path} is not UTF-8 text, so not a {what}")
    except pd.errors.EmptyDataError:
        raise FileError(f"{path} is empty, not a {what}")
    except pd.errors.ParserError as e:
        raise FileError(f"{path} is not a CSV {what} ({str(e).strip().splitlines()[-1]})")
    missing = [c for c in columns if c not in table]
    if missing:
        raise FileError(f"{path} is not a {what} of this version: it has no column "
                        f"{', '.join(missing)}")
    if table.empty:
        raise FileError(f"{path} holds no rows")
    return as_numbers(table, path, numeric)


def as_numbers(table, path, columns):
    """table with each of `columns` read as numbers (blanks as NaN); FileError naming the file,
    the column and the first row holding anything else."""
    import pandas as pd
    for column in columns:
        values = pd.to_numeric(table[column], errors="coerce")
        wrong = table[column][values.isna() & table[column].notna()]
        if len(wrong):
            raise FileError(f"{path}: column {column} holds {wrong.iloc[0]!r} (row "
                            f"{wrong.index[0] + 2} of the file), not a number")
        table[column] = values
    return table


def refuse(path, column, wrong, what):
    """FileError naming the first of `wrong` (a column's numbers that are not `what`, with their
    row labels), if there is one."""
    if len(wrong):
        raise FileError(f"{path}: column {column} holds {wrong.iloc[0]:g} (row "
                        f"{wrong.index[0] + 2} of the file), not {what}")


def check_twins(table, path, keys=("seed",)):
    """FileError unless each combination of `keys` (a seed; a model's name and seed) has
    exactly one row per twin (column implementation: numpy, torch), as a lockstep run writes
    them: a row lost or doubled would pair the wrong numbers."""
    keys = list(keys)
    for key, rows in table.groupby(keys, sort=False):
        twins = sorted(map(str, rows.implementation))
        if twins != ["numpy", "torch"]:
            said = ", ".join(f"{k} {v}" for k, v in zip(keys, key if isinstance(key, tuple)
                                                        else (key,)))
            raise FileError(f"{path}: {said} has the rows {twins or 'none'}; a run writes one "
                            f"row per twin, numpy and torch")
