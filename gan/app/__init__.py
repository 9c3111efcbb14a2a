"""The playground's service layer, free of any UI framework: what ``app.py`` wires to Gradio
and what the tests and the load tool call directly.

  requests       one named request per endpoint; the one place a visitor's values are checked
  handlers       Playground: the endpoints (a request and a session in, plain values out)
  runs           visitors' sessions and their live training runs (the app's recipe per preset)
  library        the shipped generators and their probe discriminators, loaded once
  pictures       render, interpolate and probe for a model
  charts         the Train tab's status line, plots and histogram as data
  control        a run's controls (pause, steps, learning rates): the engine's Controls
  priority       renders before training on a CPU; threads: a run's CPU thread count
  render_batch   renders of many visitors merged into few forward passes
  inputs         drawings and uploaded images decoded to MNIST-like digits
  limits, memory, page, explanations, updates
                 server limits, a flat memory under a crowd, the page's CSS/JS, the texts,
                 KEEP / Update
  gradio_wiring  the one module that imports Gradio

Nothing else here imports Gradio: a handler raises ValueError for a visitor's mistake and returns
``KEEP`` / ``Update(...)`` where the UI should keep or partly change a component.
"""
