"""The one bridge between the service layer and Gradio (the only module of gan/ that imports it):
``endpoint`` turns a ``Playground`` method into a Gradio function whose parameters are the
request's field names, and maps ``KEEP`` / ``Update`` / ValueError to Gradio's forms."""
from __future__ import annotations

import inspect
import logging
import sys
import traceback

import gradio as gr
import gradio.queueing
import gradio.routes
import gradio.utils
from gradio.exceptions import ComponentProcessingError

from gan.app.requests import fields_of
from gan.app.updates import KEEP, Update

log = logging.getLogger("gan.app")


def to_gradio(value):
    if value is KEEP:
        return gr.update()
    return gr.update(**value) if isinstance(value, Update) else value


def endpoint(handler, request_cls=None, params=(), stream=False, name=None, on_select=False):
    """A Gradio function for ``handler(request_or_values..., session_key)``. Its parameters are
    the request's field names, then ``params`` (API callers pass them by name), and the visitor's gr.Request. A
    visitor's ValueError becomes a gr.Error and one log line; other faults keep their traceback.
    ``on_select``: a picture's select event; the handler gets the click's (x, y) before the key."""
    n_fields = len(fields_of(request_cls)) if request_cls else 0
    names = (fields_of(request_cls) if request_cls else []) + list(params)     # params: the request's, then extra
    name = name or handler.__name__

    def call(args):
        *values, request = args
        key = getattr(request, "session_hash", None)
        if on_select:
            *values, evt = values
            where = tuple(evt.index) if isinstance(getattr(evt, "index", None), (list, tuple)) else (None, None)
            values = [*values, *where]
        if request_cls:
            return handler(request_cls(**dict(zip(names, values[:n_fields]))), *values[n_fields:], key)
        return handler(*values, key)

    def refuse(e: ValueError) -> gr.Error:
        log.info("refused %s: %s", name, e)
        return gr.Error(str(e), print_exception=False)

    def fn(*args):
        try:
            out = call(args)
        except ValueError as e:
            raise refuse(e) from None
        return tuple(to_gradio(v) for v in out) if isinstance(out, tuple) else to_gradio(out)

    def fn_stream(*args):
        try:
            for out in call(args):
                yield tuple(to_gradio(v) for v in out)
        except ValueError as e:
            raise refuse(e) from None

    wrapped = fn_stream if stream else fn
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    selected = [inspect.Parameter("evt", kind, annotation=gr.SelectData)] if on_select else []
    wrapped.__signature__ = inspect.Signature([inspect.Parameter(p, kind) for p in names] + selected
                                              + [inspect.Parameter("request", kind, annotation=gr.Request)])
    wrapped.__annotations__ = {"request": gr.Request} | ({"evt": gr.SelectData} if on_select else {})
    # Gradio injects the request and the select event by these annotations
    wrapped.__name__ = name
    return wrapped


def _param_names(block_fn) -> list[str]:
    try:
        params = inspect.signature(block_fn.fn).parameters
    except (TypeError, ValueError):
        return []
    return [p for p, v in params.items() if v.annotation is not gr.Request and p != "request"]


def name_refused_inputs(demo: gr.Blocks) -> None:
    """A value that Gradio's own input processing refuses (a list where an image goes, a path
    outside its upload folder) ends in a gr.Error that names the API parameter, not Gradio's
    anonymous "the upstream app raised an exception". The failing input is found by processing
    each one alone (only on this error path)."""
    original = demo.preprocess_data

    async def preprocess_data(block_fn, inputs, state, explicit_call=False):
        try:
            return await original(block_fn, inputs, state, explicit_call)
        except Exception as e:  # noqa: BLE001 - re-raised below when no single input explains it
            names = _param_names(block_fn)
            for i in range(len(inputs)):
                try:
                    await original(block_fn, [v if j == i else None for j, v in enumerate(inputs)], None, explicit_call)
                except Exception:  # noqa: BLE001
                    field = names[i] if i < len(names) else f"input {i + 1}"
                    why = e.message if isinstance(e, gr.Error) else f"not a valid value for this input ({type(e).__name__})"
                    log.info("refused %s: %s: %s", block_fn.name, field, " ".join(str(why).split())[:200])
                    raise gr.Error(f"{field}: {why}", print_exception=False) from None
            raise

    demo.preprocess_data = preprocess_data


class _OneLineForVisitorErrors:
    """Stands in for the ``traceback`` module inside Gradio's server modules: a visitor's bad
    input (a gr.Error, or a value a component refused) is logged in one line; every other
    exception still prints its full traceback."""

    def __getattr__(self, name):
        return getattr(traceback, name)

    @staticmethod
    def print_exc(*args, **kwargs):
        e = sys.exc_info()[1]
        if isinstance(e, (gr.Error, ComponentProcessingError)):
            log.info("refused input: %s", " ".join(str(e).split())[:300])
        else:
            traceback.print_exc(*args, **kwargs)


def quiet_visitor_errors() -> None:
    for module in (gradio.queueing, gradio.routes, gradio.utils):
        if getattr(module, "traceback", None) is traceback:
            module.traceback = _OneLineForVisitorErrors()


def option_widget(option, value):
    """The Train tab's widget for one row of ``gan.engine.options.FORM_OPTIONS``: a dropdown for a
    choice, a checkbox group for digits, a slider where the row gives (lo, hi, step), else a number."""
    if option.kind == "choice":
        return gr.Dropdown(list(option.choices), value=value, label=option.label, info=option.help or None)
    if option.kind == "digits":
        return gr.CheckboxGroup([str(d) for d in range(10)], value=value, label=option.label, info="none = all ten")
    if option.form:
        lo, hi, step = option.form
        return gr.Slider(lo, hi, value=value, step=step, label=option.label, info=option.help or None)
    return gr.Number(value=value, label=option.label, info=option.help or None)
