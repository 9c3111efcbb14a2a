"""The page's own CSS and start-up script (plain strings, for ``demo.launch(css=..., js=...)``)."""

# Digit images travel at their true size as PNG and are enlarged by the browser without smoothing.
CSS = """
#samples-grid img, #live-grid img, #interp-strip img, #probe-seen img {
    image-rendering: pixelated; width: 100%; height: auto; max-height: 75vh; object-fit: contain; }
#samples-grid button, #samples-grid .image-frame, #live-grid button, #live-grid .image-frame { width: 100%; }
/* the label and the download / fullscreen buttons get a strip of their own above the picture */
#samples-grid .image-frame, #live-grid .image-frame, #interp-strip .image-frame { padding-top: 36px; }
@media (max-width: 720px) {
  /* phones: the picture first and, while the sliders scroll by, kept in view at the top */
  #explore-row { flex-direction: column-reverse; }
  /* Train: the run's settings and Start, then what it draws, then the buttons that steer it */
  #train-row { flex-direction: column; }
  #train-controls, #train-outputs { display: contents; }
  #train-outputs > * { order: 1; }
  #run-controls { order: 2; }
  #explore-picture { position: sticky; top: 0; z-index: 10; width: 100%; padding-bottom: 6px;
                     background: var(--background-fill-primary, white); box-shadow: 0 4px 6px -4px rgba(0,0,0,.3); }
  #samples-grid img { max-height: 34vh; }
}
"""
# The probe's sketchpad starts with the brush in hand (Gradio's starts with no tool); the page's
# container clips instead of hiding its overflow, so that the phone layout's picture can stick.
JS = """() => {
  // clip, not hidden: an overflow-hidden container would be the sticky picture's (never scrolled) scrollport
  document.querySelectorAll('.gradio-container').forEach(c => c.style.setProperty('overflow', 'clip', 'important'));
  const pick = () => document.querySelectorAll('#probe-sketch button[aria-label="Brush"]').forEach(b => {
    if (!b.dataset.picked) { b.dataset.picked = "1"; b.click(); } });
  new MutationObserver(pick).observe(document.body, {childList: true, subtree: true});
}"""
