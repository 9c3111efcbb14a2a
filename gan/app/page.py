"""The page's own CSS and start-up script (plain strings, for ``demo.launch(css=..., js=...)``)."""

# Digit images travel at their true size as PNG and are enlarged by the browser without smoothing.
CSS = """
#samples-grid img, #live-grid img, #interp-strip img, #probe-seen img {
    image-rendering: pixelated; width: 100%; height: auto; max-height: 75vh; object-fit: contain; }
#samples-grid button, #samples-grid .image-frame, #live-grid button, #live-grid .image-frame { width: 100%; }
/* the label and the download / fullscreen buttons get a strip of their own above the picture */
#samples-grid .image-frame, #live-grid .image-frame, #interp-strip .image-frame, #latent-map .image-frame,
#live-view .image-frame, #nearest-strip .image-frame, #find-match .image-frame { padding-top: 36px; }
@media (max-width: 720px) {
  /* phones: the picture first and, while the sliders scroll by, kept in view at the top; the
     nearest training digits after the sliders */
  #explore-row { flex-direction: column; }
  #explore-picture { display: contents; }
  #explore-controls { order: 1; }
  #nearest-section { order: 2; }
  /* Train: the run's settings and Start, then what it draws, then the buttons that steer it */
  #train-row { flex-direction: column; }
  #train-controls, #train-outputs { display: contents; }
  #train-outputs > * { order: 1; }
  #run-controls { order: 2; }
  #samples-grid { order: 0; position: sticky !important; top: 0; z-index: 100; width: 100%; padding-bottom: 6px;
                  background: var(--background-fill-primary, white) !important; opacity: 1;
                  box-shadow: 0 4px 6px -4px rgba(0,0,0,.3); }
  #samples-grid img { max-height: 34vh; }
}
"""
# The probe's sketchpad starts with the brush in hand (Gradio's starts with no tool); the page's
# container clips instead of hiding its overflow, so that the phone layout's picture can stick.
# Gradio turns a click on a picture into its pixel only while the picture shows at most at its
# natural size; ours are enlarged, so a click on a clickable picture is re-sent where Gradio's
# arithmetic (natural size, centred) finds the pixel that is under the pointer.
JS = """() => {
  document.addEventListener('click', e => {
    const img = e.target;
    if (e.isTrusted === false || !img.matches || !img.matches('#samples-grid img, #latent-map img')) return;
    const r = img.getBoundingClientRect(), nw = img.naturalWidth, nh = img.naturalHeight;
    const s = Math.min(r.width / nw, r.height / nh);
    if (!(s > 1)) return;                                   // not enlarged: Gradio's own arithmetic holds
    const x = (e.clientX - r.left - (r.width - nw * s) / 2) / s, y = (e.clientY - r.top - (r.height - nh * s) / 2) / s;
    if (x < 0 || y < 0 || x >= nw || y >= nh) { e.stopPropagation(); return; }       // the letterbox
    e.stopPropagation();
    img.dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true, view: window,
      clientX: r.left + (r.width - nw) / 2 + x, clientY: r.top + (r.height - nh) / 2 + y}));
  }, true);
  // clip, not hidden: an overflow-hidden container would be the sticky picture's (never scrolled) scrollport
  document.querySelectorAll('.gradio-container').forEach(c => c.style.setProperty('overflow', 'clip', 'important'));
  const pick = () => document.querySelectorAll('#probe-sketch button[aria-label="Brush"]').forEach(b => {
    if (!b.dataset.picked) { b.dataset.picked = "1"; b.click(); } });
  new MutationObserver(pick).observe(document.body, {childList: true, subtree: true});
}"""
