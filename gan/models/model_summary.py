"""A layer table of a generator or discriminator, read from the modules themselves: each leaf
layer's output shape (traced with forward hooks on a one-sample batch) and parameter count."""
from __future__ import annotations

import functools
import json

import torch
from torch import nn

from gan.models.registry import model_config_from_dict


def layer_rows(net: nn.Module, *inputs) -> tuple[list[dict], tuple]:
    """([{"layer", "kind", "output", "params"}] for every leaf module in the order they run,
    the network's own output shape) for a one-sample batch."""
    rows, hooks = [], []
    for name, m in net.named_modules():
        if next(m.children(), None) is None and name:
            def hook(mod, args, out, name=name):
                shape = tuple(out.shape[1:]) if isinstance(out, torch.Tensor) else "?"
                rows.append({"layer": name, "kind": type(mod).__name__, "output": shape,
                             "params": sum(p.numel() for p in mod.parameters(recurse=False))})
            hooks.append(m.register_forward_hook(hook))
    was_training = net.training
    try:
        net.eval()
        with torch.no_grad():
            result = net(*inputs)
    finally:
        net.train(was_training)
        for h in hooks:
            h.remove()
    return rows, tuple(result.shape[1:])


def describe(mcfg, G: nn.Module | None = None, D: nn.Module | None = None) -> dict:
    """Both networks of a model config (built fresh unless given) as layer rows and totals."""
    if G is None or D is None:
        G, D = mcfg.build()
    y = torch.zeros(1, dtype=torch.long) if mcfg.num_classes else None
    out = {}
    for role, net, inputs in (("G", G, (torch.zeros(1, mcfg.z_dim), y)), ("D", D, (torch.zeros(1, 1, 28, 28), y))):
        rows, shape = layer_rows(net, *inputs)
        out[role] = {"rows": rows, "output": shape, "params": sum(p.numel() for p in net.parameters())}
    return out


def markdown(summary: dict, z_dim: int) -> str:
    parts = []
    for role, title, first in (("G", "Generator", f"z ({z_dim},)"), ("D", "Discriminator", "image (1, 28, 28)")):
        s = summary[role]
        lines = [f"**{title}** - {s['params']:,} parameters; input {first}, output {s['output'] or '(score,)'}", "",
                 "| layer | kind | output | params |",
                 "|---|---|---|---|"]
        lines += [f"| {r['layer']} | {r['kind']} | {r['output']} | {r['params']:,} |" for r in s["rows"]]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


@functools.lru_cache(maxsize=32)
def model_markdown(preset: str, model_args_json: str) -> str:
    """The layer tables of a preset with these architecture arguments (cached: they never change)."""
    mcfg = model_config_from_dict(preset, json.loads(model_args_json))
    return markdown(describe(mcfg), mcfg.z_dim)
