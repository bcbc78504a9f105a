"""Regenerate the README's screenshot of the page (docs/app.png): app.py started as a user
starts it, a 7 drawn with the mouse in a headless Chromium, the page photographed as it answers.

    python -m page.screenshot                      # the default model (trained on a first start)
    python -m page.screenshot --weights w.npz --digit 0 --out other.png
"""
import argparse
import sys

from page import browser
from storage.atomic import FileError, atomic_write
from storage.paths import DOCS


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     allow_abbrev=False)
    parser.add_argument("--weights", nargs="+", action="extend", metavar="FILE",
                        help="app.py's --weights (default: none, the default model)")
    parser.add_argument("--digit", choices=sorted(browser.STROKES), default="7")
    parser.add_argument("--out", default=str(DOCS / "app.png"))
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=1000)
    args = parser.parse_args(argv)
    why = browser.why_no_browser()
    if why:
        print(f"screenshot: error: {why}", file=sys.stderr)
        return 1
    served = ["--weights", *args.weights] if args.weights else []
    with browser.served(served, timeout=3600, log=sys.stdout) as url, \
            browser.opened(url, width=args.width, height=args.height) as tab:
        before = browser.read_answer(tab)
        browser.draw(tab, browser.STROKES[args.digit])
        got = browser.wait_for_answer(tab, before)
        tab.mouse.move(0, 0)                             # no brush cursor in the picture
        picture = tab.screenshot(full_page=True)
    try:
        atomic_write(args.out, lambda f: f.write(picture))
    except FileError as e:
        print(f"screenshot: error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}: the page answering a drawn {args.digit}: "
          + ", ".join(f"{name} {label}" for name, label in got["labels"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
