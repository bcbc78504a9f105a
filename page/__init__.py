"""The page `app.py` serves: draw a digit (or upload a picture, or take a random test image) and
the NumPy twin and the PyTorch twin answer it side by side.

    page/models.py   a weights file as both twins' networks, described; the probabilities
    page/default.py  the default MLP, trained once with the NumPy twin and kept in the cache
    page/answer.py   the function behind the page: a drawing, upload or test image in, the
                     prepared image and both twins' probabilities out (an Answer)
    page/view.py     an Answer as the page shows it: the image enlarged, the table, the verdict
    page/layout.py   the Gradio page: its components and events
    page/browser.py  a headless Chromium that draws on the page (the test, the screenshot)

Nothing here imports Gradio or torch at its top level but layout.py, which imports Gradio.
"""
