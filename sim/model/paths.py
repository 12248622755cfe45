"""Dotted paths into a scenario (`channels.0.cost_per_lead`): the one walker that reads and writes them.

A path names a field through sections and list items (by index), as `Scenario.override`, the levers, the
app's link and the sweeps use them. Messages show it with brackets (`channels[0].cost_per_lead`).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from sim.model.errors import ScenarioError

MISSING: Any = object()
"""What `get` returns for a path that leads nowhere, unless told otherwise."""


def parts(path: str) -> list[str | int]:
    """`channels.0.cost_per_lead` -> ['channels', 0, 'cost_per_lead']."""
    return [int(p) if p.isascii() and p.isdigit() else p for p in path.split(".")]


def bracketed(path: str | tuple[Any, ...]) -> str:
    """A dotted path (or a validation location) as messages show it: `channels[0].cost_per_lead`."""
    loc = tuple(parts(path)) if isinstance(path, str) else path
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith("function-"):  # pydantic's validator steps in a location
            continue
        else:
            out += ("." if out else "") + str(part)
    return out or "(scenario)"


def dotted(path: str) -> str:
    """`channels[0].cost_per_lead` -> `channels.0.cost_per_lead`."""
    return re.sub(r"\[(\d+)\]", r".\1", path)


def get(node: Any, path: str, default: Any = MISSING) -> Any:
    """The value at `path` in a scenario, one of its sections or its dump (nested dicts and lists).

    A switched-off section (None) on the way gives None; a path that leads nowhere gives `default`.
    """
    for part in parts(path):
        if node is None:
            return None
        if isinstance(part, int):
            if not isinstance(node, list | tuple) or part >= len(node):
                return default
            node = node[part]
        elif isinstance(node, dict):
            if part not in node:
                return default
            node = node[part]
        else:
            node = getattr(node, part, default)
            if node is default:
                return default
    return node


def set_in(data: dict[str, Any], path: str, value: Any, source: str) -> None:
    """Set `path` in a scenario's dump (in place); ScenarioError naming `source` if it leads nowhere."""
    if not isinstance(path, str):
        raise ScenarioError(f"scenario {source!r}: {path!r}: a path must be a dotted string")
    names = path.split(".")
    node: Any = data
    for i, part in enumerate(names):
        last = i == len(names) - 1
        where = bracketed(".".join(names[: i + 1]))
        if isinstance(node, list):
            if not (part.isascii() and part.isdigit()) or int(part) >= len(node):
                raise ScenarioError(
                    f"scenario {source!r}: {where}: no such list item (the list has {len(node)})",
                    [(path, value, "no such list item")],
                )
            key: Any = int(part)
        elif isinstance(node, dict):
            if part not in node:
                raise ScenarioError(
                    f"scenario {source!r}: {where}: no such field", [(path, value, "no such field")]
                )
            key = part
        else:
            raise ScenarioError(
                f"scenario {source!r}: {where}: cannot go inside a value that is not a section",
                [(path, value, "not a section")],
            )
        if last:
            node[key] = copy.deepcopy(value)
        else:
            if node[key] is None:
                raise ScenarioError(
                    f"scenario {source!r}: {where}: the section is off (None); set it whole",
                    [(path, value, "section is None")],
                )
            node = node[key]
