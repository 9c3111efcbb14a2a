"""The page's own CSS and start-up script (plain strings, for ``demo.launch(css=..., js=...)``)."""

# Digit images travel at their true size as PNG and are enlarged by the browser without smoothing.
CSS = """
#samples-grid img, #live-grid img, #interp-strip img, #probe-seen img {
    image-rendering: pixelated; width: 100%; height: auto; max-height: 75vh; object-fit: contain; }
#samples-grid button, #samples-grid .image-frame, #live-grid button, #live-grid .image-frame { width: 100%; }
@media (max-width: 720px) { #explore-row { flex-direction: column-reverse; } }
"""
# The probe's sketchpad starts with the brush in hand (Gradio's starts with no tool).
JS = """() => {
  const pick = () => document.querySelectorAll('#probe-sketch button[aria-label="Brush"]').forEach(b => {
    if (!b.dataset.picked) { b.dataset.picked = "1"; b.click(); } });
  new MutationObserver(pick).observe(document.body, {childList: true, subtree: true});
}"""
