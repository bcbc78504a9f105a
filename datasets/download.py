"""One file over HTTP(S), as the data sets' downloaders need it: from the first of several
mirrors that gives bytes with the right MD5, a broken transfer resumed with a Range request,
never a half-written or corrupt file left under the file's name."""
import hashlib
import itertools
import os
import urllib.error
import urllib.request
from pathlib import Path

from datasets.base import DataError


def md5_of(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download_file(urls, dest, md5, tries=2, timeout=30):
    """Fetch one file to `dest`, from the first url that gives bytes with the right MD5.

    Bytes land in `dest.part`; an interrupted transfer is resumed with an HTTP Range request,
    and only a file whose MD5 matches is renamed to `dest`, so `dest` never exists half-written
    or corrupt. Raises DataError when no url gives the right bytes."""
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    errors = []
    for url in urls:
        for attempt in range(tries):
            try:
                _fetch(url, part, timeout)
            except (urllib.error.URLError, OSError, ValueError) as e:
                errors.append((url, str(getattr(e, "reason", e))))
                continue                                   # retry: .part resumes
            if md5_of(part) == md5:
                os.replace(part, dest)
                return dest
            errors.append((url, "MD5 mismatch"))
            part.unlink()                                  # never keep bad bytes
    part.unlink(missing_ok=True)
    # each url's failure once, with how many tries ended in it (a retry mostly fails alike)
    said = [f"{url}: {why}" + (f" ({n} tries)" if (n := len(list(same))) > 1 else "")
            for (url, why), same in itertools.groupby(errors)]
    raise DataError(f"could not download {dest.name}: " + "; ".join(said))


def _fetch(url, part, timeout):
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code != 416:                                  # 416: .part is already whole
            raise
        return
    with response, open(part, "ab" if response.status == 206 else "wb") as f:
        expected = response.headers.get("Content-Length")
        written = 0
        for chunk in iter(lambda: response.read(1 << 16), b""):
            f.write(chunk)
            written += len(chunk)
    if expected is not None and written != int(expected):
        raise OSError(f"connection closed after {written} of {expected} bytes")
