"""Every file is written to a temporary file in the same folder and renamed over the target, so
a crash or Ctrl-C at any moment leaves the old file or the new one, never half of one."""
import json
import os
import tempfile
from pathlib import Path

# A temporary file is created readable by its owner alone; the renamed result gets the mode an
# ordinary open() would have given it.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


class FileError(Exception):
    """A file that cannot be read or written, or does not hold what it should."""


def atomic_write(path, write):
    """Call write(f) on a temporary binary file beside `path`, then rename it to `path`.

    The temporary file is hidden and named after the target and the writing process
    (.NAME.PID.XXXXXXXX.tmp); a process killed mid-write (kill -9, a power cut) leaves it
    behind, and the next write of the same target removes it. FileError, naming the cause, if
    the file cannot be written whole (no such folder, no permission, a full disk, ...): the
    target is then left as it was."""
    path = Path(path)
    remove_leftovers(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.{os.getpid()}.",
                                   suffix=".tmp")
    except OSError as e:
        raise FileError(f"cannot write {path}: {e.strerror}")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:                                # its folder is gone too
            pass
        if isinstance(e, OSError):
            raise FileError(f"cannot write {path}: {e.strerror or e}") from e
        raise


def remove_leftovers(path):
    """Delete the temporary files of earlier writes of `path` whose process is gone."""
    for leftover in Path(path).parent.glob(f".{glob_escape(Path(path).name)}.*.tmp"):
        pid = leftover.name[len(Path(path).name) + 2:].split(".")[0]
        if pid.isdigit() and pid_alive(int(pid)):
            continue                                   # being written right now
        try:
            leftover.unlink()
        except OSError:
            pass


def glob_escape(name):
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:                                    # alive, another user's
        return True
    return True


def write_text(path, text):
    atomic_write(path, lambda f: f.write(text.encode()))


def write_json(path, obj):
    write_text(path, json.dumps(obj, indent=1) + "\n")


def check_writable(path):
    """FileError now, before hours of training, if `path` could not be written later: it is a
    folder, or its folder does not exist or is not writable."""
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        raise FileError(f"cannot write {path}: it is a folder; name a file (in it, say)")
    if not folder.is_dir():
        raise FileError(f"cannot write {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise FileError(f"cannot write {path}: folder {folder} is not writable")


def check_markers(path, start, end):
    """The text of `path`; FileError unless it holds one marker `start` followed by one `end`,
    so that the section between them can be replaced (checked before a run, not after)."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise FileError(f"cannot read {path}: {getattr(e, 'strerror', None) or e}")
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise FileError(f"{path} must hold one {start} line followed by one {end} line")
    return text


def replace_between(path, start, end, section):
    """Replace the lines from marker `start` to marker `end` (both included) with `section`,
    atomically; nothing outside them changes. True if the file changed."""
    text = check_markers(path, start, end)
    before, rest = text.split(start)
    new = before + section + rest.split(end, 1)[1]
    if new != text:
        write_text(path, new)
    return new != text
