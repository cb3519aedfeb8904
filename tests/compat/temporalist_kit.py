"""What the Temporal.ist tests read from its reference document beyond the curl commands
(compatkit): the example response printed after each command, every resource's documented
shape, and the document's Python code."""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from compatkit import Curl, document

TEXT = document("temporalist-api-v1.md")
V1 = "/api/v1"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_ENDPOINT = re.compile(r"^(GET|POST|PATCH|DELETE) (/\S*)")


def _json_at(lines: list[str], start: int) -> Any:
    """The JSON value that begins at lines[start], read until it parses."""
    for end in range(start + 1, len(lines) + 1):
        try:
            return json.loads("\n".join(lines[start:end]))
        except json.JSONDecodeError:
            continue
    raise AssertionError(f"no JSON at line {start}")


def json_after(heading: str) -> Any:
    """The JSON printed under a line of the document, e.g. "POST body"."""
    lines = TEXT.splitlines()
    return _json_at(lines, lines.index(heading) + 1)


def responses_of(examples: list[Curl]) -> list[Any]:
    """For each example (in document order), the "Example response" printed right after
    it, or None."""
    lines = TEXT.splitlines()
    found: list[Any] = []
    offset = 0
    for example in examples:
        offset = TEXT.index(example.text, offset) + len(example.text)
        after = TEXT.count("\n", 0, offset) + 1  # the line after the command's last
        while after < len(lines) and not lines[after].strip():
            after += 1
        heading = lines[after].strip() if after < len(lines) else ""
        found.append(_json_at(lines, after + 1) if heading == "Example response" else None)
    return found


def resource_of(path: str) -> str:
    """`/api/v1/sessions/<id>/close/` -> "sessions"."""
    return path.removeprefix(V1).strip("/").split("/")[0].split("?")[0]


def documented_shapes() -> dict[str, Any]:
    """Every resource's object as the document's example responses show it, by resource."""
    lines = TEXT.splitlines()
    shapes: dict[str, Any] = {}
    endpoint = None
    for i, line in enumerate(lines):
        match = _ENDPOINT.match(line)
        if match:
            endpoint = match.group(2)
        elif line.strip() == "Example response" and endpoint is not None:
            value = _json_at(lines, i + 1)
            item = value[0] if isinstance(value, list) else value
            shapes.setdefault(resource_of(V1 + endpoint), item)
    return shapes


def python_function(name: str) -> Any:
    """Exec the document's Python snippet that defines `name` (with the imports above it)."""
    lines = TEXT.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"def {name}("))
    first = start
    while first > 0 and (
        lines[first - 1].startswith(("import ", "from ")) or not lines[first - 1].strip()
    ):
        first -= 1
    end = start + 1
    while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end].strip()):
        end += 1
    namespace: dict[str, Any] = {}
    exec("\n".join(lines[first:end]), namespace)  # the document's own code
    return namespace[name]


def with_ids(example: Curl, ids: dict[str, str]) -> Curl:
    """The example with placeholders (some hold spaces: "<session id>") and the document's
    ids replaced by ours before it is split, as a shell user would edit it."""
    text = example.text
    for placeholder, value in ids.items():
        text = text.replace(placeholder, value)
    return Curl(text, shlex.split(text.replace("\\\n", " ")))


def same_shape(actual: Any, example: Any) -> None:
    """The answer has the example's keys, each with a value of the same JSON kind (null
    matches anything: the example's nulls are optional values)."""
    if isinstance(example, list):
        assert isinstance(actual, list)
        for item in actual if example else []:
            same_shape(item, example[0])
    elif isinstance(example, dict):
        assert isinstance(actual, dict), actual
        assert set(actual) == set(example), (sorted(actual), sorted(example))
        for key, value in example.items():
            if value is not None and actual[key] is not None:
                same_shape(actual[key], value)
    elif example is not None and actual is not None:
        kind = next(k for k in (bool, int, float, str) if isinstance(example, k))
        assert isinstance(actual, kind), (actual, example)
        assert kind is bool or not isinstance(actual, bool), (actual, example)
