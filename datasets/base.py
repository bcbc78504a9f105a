"""What every data set's reader shares: its error, and the rule for an explicit folder."""
from pathlib import Path


class DataError(Exception):
    """A problem with the data files: the message names the file and what is wrong."""


def check_folder(data_dir):
    """DataError unless an explicit --data-dir (None: not given) is a folder."""
    if data_dir is not None and not Path(data_dir).is_dir():
        raise DataError(f"--data-dir {data_dir} is not a folder")


class PictureError(Exception):
    """A picture that cannot be read or made into the data set's image; the message is one line
    that names the file and the cause."""
