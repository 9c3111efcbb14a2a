"""The playground's service layer, free of any UI framework: what ``app.py`` wires to Gradio
and what the tests and the load tool call directly.

  requests   one named request per endpoint (TrainRequest, RenderRequest, ...), checked here
  limits     server-side limits from the environment
  library    the shipped generators (and their probe discriminators), loaded once
  runs       visitors' sessions and their live training runs, quick quality checks
  explore    render, interpolate and probe for a model
  handlers   the endpoints: a request and a session in, plain values out
  charts     the Train tab's status line, plots and histogram as data
  control, priority, inputs   run controls, renders-before-training on a CPU, input checks

Nothing here imports Gradio: a handler raises ValueError for a visitor's mistake and returns
``KEEP`` / ``Update(...)`` where the UI should keep or partly change a component.
"""
