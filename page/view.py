"""An Answer as the page shows it: what the network sees, enlarged pixel by pixel, and one HTML
block: the verdict (each twin's label, whether they agree, the largest difference between their
probabilities) above a table of every class's probability, the twins side by side.

The block's parts carry ids a test (or a screen reader's user) can find: #answer with
data-state "answer" or "message", #label-numpy, #label-pytorch, #agreement,
#largest-difference, #message.
"""
from html import escape

import numpy as np

ENLARGED = 280          # the enlarged image's side, about (each pixel a square of whole pixels)


def enlarged(image):
    """(H, W) in [0, 1] -> (H k, W k) uint8, each pixel a k x k square (k = ENLARGED // H);
    None for None."""
    if image is None:
        return None
    k = max(1, ENLARGED // image.shape[0])
    return np.kron(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8),
                   np.ones((k, k), np.uint8))


def number(p):
    """A difference between probabilities, short: 0, or 1.2e-08."""
    return "0" if p == 0 else f"{p:.1e}"


def html_of(answer):
    """The HTML block of an Answer."""
    if answer.message:
        return (f'<div id="answer" data-state="message"><p id="message" class="message">'
                f'{escape(answer.message)}</p></div>')
    names, classes = list(answer.probs), answer.classes
    labels = answer.labels
    said = [f'{escape(name)}: <b id="label-{escape(name.lower())}">'
            f'{escape(classes[labels[name]])}</b> '
            f'({100 * answer.probs[name][labels[name]]:.1f}%)' for name in names]
    if len(names) > 1:
        agreement = "they agree" if answer.agree else "they disagree"
        verdict = (f'{" &nbsp;·&nbsp; ".join(said)} &nbsp;·&nbsp; <span id="agreement" '
                   f'class="{"agree" if answer.agree else "disagree"}">{agreement}</span>'
                   f'<br>largest difference between their probabilities: '
                   f'<span id="largest-difference">{number(answer.largest_difference)}</span>')
    else:
        verdict = (f'{said[0]} &nbsp;·&nbsp; <span id="agreement">the PyTorch twin is not here '
                   f'(torch cannot be imported)</span>')
    source = escape(answer.title)
    if answer.true_label is not None:
        source += f", true label <b>{escape(classes[answer.true_label])}</b>"
    head = "".join(f"<th>{escape(name)}</th>" for name in names)
    head += "<th>difference</th>" if len(names) > 1 else ""
    rows = []
    for c, class_name in enumerate(classes):
        p = [answer.probs[name][c] for name in names]
        cells = "".join(f'<td><span class="bar" style="width:{100 * q:.1f}%"></span>'
                        f'<span class="p">{q:.4f}</span></td>' for q in p)
        if len(names) > 1:
            cells += f'<td class="diff">{number(float(max(p) - min(p)))}</td>'
        chosen = " chosen" if c in labels.values() else ""
        true = " true" if c == answer.true_label else ""
        rows.append(f'<tr class="class{chosen}{true}"><td class="name">{escape(class_name)}'
                    f'</td>{cells}</tr>')
    return (f'<div id="answer" data-state="answer"><p class="verdict">{verdict}</p>'
            f'<p class="source">{source}</p>'
            f'<table class="probs"><tr><th>class</th>{head}</tr>{"".join(rows)}</table></div>')


CSS = """
#answer .verdict { font-size: 1.15em; line-height: 1.6; margin: 0 0 .3em 0; }
#answer .verdict b { font-size: 1.4em; }
#answer .agree { color: #15803d; font-weight: 600; }
#answer .disagree { color: #b91c1c; font-weight: 600; }
#answer .source { color: #6b7280; margin: 0 0 .5em 0; }
#answer .message { font-size: 1.3em; padding: 1em 0; }
#answer table.probs { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
#answer table.probs th, #answer table.probs td { padding: 2px 8px; text-align: left; }
#answer table.probs td { position: relative; }
#answer tr.chosen td.name { font-weight: 700; }
#answer tr.true td.name::after { content: " (true)"; color: #6b7280; font-weight: 400; }
#answer .bar { position: absolute; left: 0; top: 3px; bottom: 3px; z-index: 0;
               background: rgba(249, 115, 22, .35); border-radius: 2px; }
#answer .p { position: relative; z-index: 1; }
#answer td.diff { color: #6b7280; }
"""
