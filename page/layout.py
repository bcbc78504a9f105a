"""The Gradio page: the canvas (draw with the mouse or a finger; clear, undo), an upload, a
random test image, and beside them what the network sees and both twins' answer. Each visitor's
last input is their own (gr.State), so several people drawing at once each get their own answer.

    build(models, data_dir) -> gr.Blocks
    launch(page, host, port, share) -> the address it serves on
"""
from html import escape

import numpy as np

import gradio as gr

from page import answer as answers
from page.view import CSS, enlarged, html_of

TITLE = "Draw a digit: the NumPy twin and the PyTorch twin answer side by side"
CANVAS = 400           # the canvas's side in its own pixels
BRUSH = 14             # the brush's radius in them: a digit drawn 250 high gets MNIST's stroke
# The brush is picked when the page opens and whenever the canvas is cleared (Gradio's Sketchpad
# then starts with no tool and asks to "select the draw tool"), so that drawing starts at once:
# the first button of the canvas's toolbar, whatever the browser's language.
PICK_BRUSH = """() => {
    const pick = () => {
        const brush = document.querySelector("#canvas .toolbar-wrap button");
        if (brush && document.querySelector("#canvas .empty")) brush.click();
    };
    new MutationObserver(pick).observe(document.body, {childList: true, subtree: true});
    pick();
}"""
# The Clear button presses the canvas's own "clear canvas" (the last button above it): setting
# the Sketchpad's value to None clears it only when the value the server last set was not None.
CLEAR = """() => {
    const buttons = document.querySelectorAll("#canvas .top-panel button");
    if (buttons.length) buttons[buttons.length - 1].click();
}"""
MAX_FILE = "100mb"     # what Gradio accepts at all; answer.MAX_UPLOAD_BYTES says more politely


def build(models, data_dir=None):
    """The page over `models` (page.models.Model, the first shown first)."""
    choices = [(m.label, str(i)) for i, m in enumerate(models)]
    rng = np.random.default_rng()

    def shown(answer, source):
        return enlarged(answer.image), html_of(answer), source

    def on_draw(key, drawing):
        return shown(answers.from_drawing(models[int(key)], drawing), ("drawing",))

    def on_upload(key, path):
        return shown(answers.from_upload(models[int(key)], path), ("upload", path))

    def on_random(key, index=None):
        model = models[int(key)]
        answer = answers.from_test_image(model, rng, index, data_dir)
        return shown(answer, ("random", model.spec.name, answer.index))

    def on_model(key, source, drawing):
        """Another model: its description, and the last input answered again by it."""
        model = models[int(key)]
        if source[0] == "upload":
            out = shown(answers.from_upload(model, source[1]), source)
        elif source[0] == "random":
            out = on_random(key, source[2] if source[1] == model.spec.name else None)
        else:
            out = on_draw(key, drawing)
        return (described(model), *out)

    with gr.Blocks(title="Draw a digit: both twins answer", analytics_enabled=False,
                   delete_cache=(3600, 3600)) as page:
        gr.Markdown(f"## {TITLE}\nDraw in the box with the mouse or a finger (undo and clear "
                    f"are on the canvas), upload a picture, or take a random test image: the "
                    f"hand-written NumPy network and its PyTorch twin, holding the same "
                    f"weights, answer as you draw.")
        chooser = gr.Dropdown(choices, value="0", label="model", visible=len(models) > 1,
                              elem_id="model")
        about = gr.HTML(described(models[0]), elem_id="model-description")
        source = gr.State(("drawing",))
        with gr.Row():
            with gr.Column(scale=1):
                canvas = gr.Sketchpad(
                    label="draw here", elem_id="canvas", canvas_size=(CANVAS, CANVAS),
                    fixed_canvas=True, height=CANVAS + 90, image_mode="RGBA", type="numpy",
                    brush=gr.Brush(default_size=BRUSH, colors=["#000000"], color_mode="fixed"),
                    transforms=(), layers=False, format="png")
                with gr.Row():
                    clear = gr.Button("Clear", elem_id="clear")
                    # a button, not a drop zone: it takes the next picture at once, every time
                    upload = gr.UploadButton("Upload a picture", elem_id="upload",
                                             type="filepath", file_count="single")
                    random = gr.Button("Random test image", elem_id="random")
            with gr.Column(scale=1):
                seen = gr.Image(label="what the network sees (the prepared image, enlarged)",
                                elem_id="seen", interactive=False, image_mode="L",
                                format="png", height=300, width=300, buttons=[])
                result = gr.HTML(html_of(answers.Answer("", models[0].spec.classes,
                                                        message=answers.prompt(models[0].spec))),
                                 elem_id="answer-block")
        outputs = [seen, result, source]
        common = dict(show_progress="hidden", concurrency_limit=4)
        canvas.change(on_draw, [chooser, canvas], outputs, trigger_mode="always_last", **common)
        clear.click(None, js=CLEAR)
        canvas.clear(on_draw, [chooser, canvas], outputs, **common)
        random.click(on_random, [chooser], outputs, **common)
        upload.upload(on_upload, [chooser, upload], outputs, **common)
        chooser.change(on_model, [chooser, source, canvas], [about, *outputs], **common)
        page.load(None, js=PICK_BRUSH)
    return page


def described(model):
    """The model's description as the page shows it (a file's name may hold * or _)."""
    return f'<p class="model">{escape(model.description)}</p>'


def launch(page, host="127.0.0.1", port=7860, share=False):
    """Serve the page without blocking; returns its local address. OSError if the port is
    taken."""
    page.queue(default_concurrency_limit=4)
    page.launch(server_name=host, server_port=port, share=share, prevent_thread_lock=True,
                quiet=True, show_error=False, max_file_size=MAX_FILE, run_history=False,
                footer_links=["gradio"], css=CSS, inbrowser=False)
    return page.local_url
