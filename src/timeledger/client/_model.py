"""The base of the response models: every subclass is a frozen, keyword-only dataclass built
from the wire by its type hints, so a model is only its field list. Fields the model does not
know (the server may add some) are ignored; `raw` keeps the object as the server sent it."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any, ClassVar, Self

Convert = Callable[[Any], Any]


@typing.dataclass_transform(
    kw_only_default=True, frozen_default=True, field_specifiers=(dataclasses.field,)
)
class Model:
    # Not a dataclass field: it takes no part in equality, and models built by hand have none.
    raw: Mapping[str, Any] = MappingProxyType({})
    # Fields whose wire name is not a Python name (e.g. "from").
    wire_names: ClassVar[Mapping[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        dataclasses.dataclass(frozen=True, kw_only=True)(cls)

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Self:
        values = {name: convert(data[wire]) for name, wire, convert in _fields(cls) if wire in data}
        made = cls(**values)
        object.__setattr__(made, "raw", MappingProxyType(dict(data)))
        return made

    def to_dict(self) -> dict[str, Any]:
        """The object as the server sent it."""
        return dict(self.raw)


_FIELDS: dict[type[Model], tuple[tuple[str, str, Convert], ...]] = {}


def _fields(cls: type[Model]) -> tuple[tuple[str, str, Convert], ...]:
    """Each field's name, wire name and converter, worked out once per model."""
    known = _FIELDS.get(cls)
    if known is None:
        hints = typing.get_type_hints(cls)
        # A dataclass since __init_subclass__, which type checkers cannot see.
        fields = dataclasses.fields(cls)  # type: ignore[arg-type]
        known = _FIELDS[cls] = tuple(
            (f.name, cls.wire_names.get(f.name, f.name), _converter(hints[f.name])) for f in fields
        )
    return known


def _identity(value: Any) -> Any:
    return value


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _converter(hint: Any) -> Convert:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        inner = _converter(options[0]) if len(options) == 1 else _identity
        return lambda value: None if value is None else inner(value)
    if origin is list:
        (item_hint,) = typing.get_args(hint)
        item = _converter(item_hint)
        return lambda value: [item(v) for v in value]
    if hint is Decimal:
        return _decimal
    if hint is datetime:
        return datetime.fromisoformat
    if hint is date:
        return date.fromisoformat
    if isinstance(hint, type) and issubclass(hint, Model):
        return hint.from_wire
    return _identity  # str, int, bool, Literal[...], dict[str, Any], Any
