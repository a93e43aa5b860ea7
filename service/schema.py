"""Inputs of the centre operations, declared once as dataclasses.

The same declaration parses an HTML form and a JSON body (``parse``) and describes the JSON
body in the OpenAPI document (``json_schema``), so the pages, the API and its documentation
cannot disagree about what an operation accepts. Limits live in field metadata::

    name: str = field(metadata=text(1, 100, "First or chosen name"))

Every problem is reported against the field it concerns (``children.0.birth_year``), so a
form can show it next to that field and the API can name it.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import types
import typing
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from service.errors import Invalid

T = TypeVar("T")

EMAIL_PATTERN = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


class InvalidInput(Invalid):
    """Several fields may be wrong at once; ``errors`` maps each field to its message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        first_field, first_message = next(iter(errors.items()))
        super().__init__(first_message, field=first_field)
        self.errors = dict(errors)


def text(
    min_length: int = 1, max_length: int = 200, description: str = "", *, email: bool = False
) -> dict[str, Any]:
    return {
        "min_length": min_length,
        "max_length": max_length,
        "description": description,
        "email": email,
    }


def number(minimum: int, maximum: int, description: str = "") -> dict[str, Any]:
    return {"minimum": minimum, "maximum": maximum, "description": description}


def items(min_items: int = 0, max_items: int = 20, description: str = "") -> dict[str, Any]:
    return {"min_items": min_items, "max_items": max_items, "description": description}


def about(description: str) -> dict[str, Any]:
    return {"description": description}


# --- parsing ----------------------------------------------------------------------------


def parse(cls: type[T], data: Mapping[str, Any]) -> T:
    """Build ``cls`` from ``data`` or raise ``InvalidInput`` naming every bad field."""
    errors: dict[str, str] = {}
    value = _parse_dataclass(cls, data, "", errors)
    if errors:
        raise InvalidInput(errors)
    return typing.cast(T, value)


def _label(field: dataclasses.Field[Any]) -> str:
    description: str = field.metadata.get("description", "")
    return description or field.name.replace("_", " ").capitalize()


def _parse_dataclass(cls: type[Any], data: object, prefix: str, errors: dict[str, str]) -> Any:
    if not isinstance(data, Mapping):
        errors[prefix.rstrip(".") or "body"] = "This must be an object with named fields."
        return None
    hints = get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    for extra in sorted(set(data) - known):
        errors[prefix + str(extra)] = f"“{extra}” is not something this form takes."
    before = len(errors)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        name = prefix + field.name
        hint = hints[field.name]
        raw = data.get(field.name)
        if raw is None or raw == "":
            if _has_default(field):
                continue
            if _optional(hint):
                values[field.name] = None
                continue
            if not _is_list(hint):
                errors[name] = f"Please fill in: {_label(field).lower()}."
                continue
        values[field.name] = _parse_value(hint, raw, field, name, errors)
    return None if len(errors) > before else cls(**values)


def _has_default(field: dataclasses.Field[Any]) -> bool:
    return (
        field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING
    )


def _optional(hint: Any) -> bool:
    return get_origin(hint) in (Union, types.UnionType) and type(None) in get_args(hint)


def _is_list(hint: Any) -> bool:
    return get_origin(hint) is list


def _parse_value(
    hint: Any, raw: Any, field: dataclasses.Field[Any], name: str, errors: dict[str, str]
) -> Any:
    meta = field.metadata
    if _optional(hint):
        if raw is None or raw == "":
            return None
        hint = next(a for a in get_args(hint) if a is not type(None))
    if _is_list(hint):
        (inner,) = get_args(hint)
        if raw is None or raw == "":
            raw = []
        if not isinstance(raw, list):
            errors[name] = "This must be a list."
            return None
        low, high = meta.get("min_items", 0), meta.get("max_items", 50)
        if not low <= len(raw) <= high:
            errors[name] = (
                f"Please give at least {low} and at most {high}: {_label(field).lower()}."
            )
            return None
        return [_parse_value(inner, v, field, f"{name}.{i}", errors) for i, v in enumerate(raw)]
    if dataclasses.is_dataclass(hint):
        return _parse_dataclass(typing.cast(type[Any], hint), raw, name + ".", errors)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(raw)
        except ValueError:
            choices = ", ".join(str(m.value) for m in hint)
            errors[name] = f"Please choose one of: {choices}."
            return None
    if hint is bool:
        if isinstance(raw, bool):
            return raw
        if raw in ("on", "true", "yes", "1"):
            return True
        if raw in ("off", "false", "no", "0"):
            return False
        errors[name] = "Please answer yes or no."
        return None
    if hint is int:
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            errors[name] = "Please give a whole number."
            return None
        try:
            value = int(raw)
        except ValueError:
            errors[name] = "Please give a whole number, like 2019."
            return None
        low, high = meta.get("minimum"), meta.get("maximum")
        if (low is not None and value < low) or (high is not None and value > high):
            errors[name] = f"Please give a number from {low} to {high}."
            return None
        return value
    if hint is datetime:
        if not isinstance(raw, str):
            errors[name] = "Please give a date and time."
            return None
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            errors[name] = "Please give a date and time like 2026-05-01T14:00Z."
            return None
        if parsed.tzinfo is None:
            errors[name] = "Please include the time zone, like 2026-05-01T14:00Z."
            return None
        return parsed
    if hint is uuid.UUID:
        if isinstance(raw, str):
            try:
                return uuid.UUID(raw)
            except ValueError:
                pass
        errors[name] = f"Please give the id of {_label(field).lower()}, like {uuid.UUID(int=0)}."
        return None
    if hint is str:
        if not isinstance(raw, str):
            errors[name] = "Please give text."
            return None
        cleaned = raw.strip()
        low, high = meta.get("min_length", 1), meta.get("max_length", 200)
        if len(cleaned) < low:
            errors[name] = f"Please fill in: {_label(field).lower()}."
            return None
        if len(cleaned) > high:
            errors[name] = f"Please keep this to {high} characters or fewer."
            return None
        if meta.get("email"):
            cleaned = cleaned.lower()
            if not EMAIL_PATTERN.match(cleaned):
                errors[name] = "Please give an e-mail address like name@example.org."
                return None
        return cleaned
    raise TypeError(f"schema: unsupported type {hint!r}")  # a programming error


# --- JSON Schema ------------------------------------------------------------------------


def json_schema(cls: type[Any]) -> dict[str, Any]:
    """JSON Schema (draft 2020-12, as OpenAPI 3.1 uses) of a dataclass."""
    hints = get_type_hints(cls)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field in dataclasses.fields(cls):
        hint = hints[field.name]
        properties[field.name] = _schema_of(hint, field)
        if not _has_default(field) and not _optional(hint):
            required.append(field.name)
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    if cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "("):
        schema["description"] = " ".join(cls.__doc__.split())
    return schema


def schema_of(hint: Any, field: dataclasses.Field[Any] | None) -> dict[str, Any]:
    """JSON Schema of one field (a query parameter, for instance)."""
    return _schema_of(hint, field)


def _schema_of(hint: Any, field: dataclasses.Field[Any] | None) -> dict[str, Any]:
    meta: Mapping[str, Any] = field.metadata if field is not None else {}
    schema: dict[str, Any]
    if _optional(hint):
        inner = next(a for a in get_args(hint) if a is not type(None))
        schema = _schema_of(inner, field)
        base_type = schema.get("type")
        if isinstance(base_type, str):
            schema["type"] = [base_type, "null"]
        else:
            schema = {"anyOf": [schema, {"type": "null"}]}
        return schema
    if _is_list(hint):
        (inner,) = get_args(hint)
        schema = {"type": "array", "items": _schema_of(inner, None)}
        if "min_items" in meta:
            schema["minItems"] = meta["min_items"]
            schema["maxItems"] = meta["max_items"]
    elif dataclasses.is_dataclass(hint):
        schema = json_schema(typing.cast(type[Any], hint))
    elif isinstance(hint, type) and issubclass(hint, enum.Enum):
        schema = {"type": "string", "enum": [m.value for m in hint]}
    elif hint is bool:
        schema = {"type": "boolean"}
    elif hint is int:
        schema = {"type": "integer"}
        if "minimum" in meta:
            schema["minimum"] = meta["minimum"]
            schema["maximum"] = meta["maximum"]
    elif hint is datetime:
        schema = {"type": "string", "format": "date-time"}
    elif hint is uuid.UUID:
        schema = {"type": "string", "format": "uuid"}
    elif hint is str:
        schema = {"type": "string"}
        if "max_length" in meta:
            schema["minLength"] = meta["min_length"]
            schema["maxLength"] = meta["max_length"]
        if meta.get("email"):
            schema["format"] = "email"
    else:
        raise TypeError(f"schema: unsupported type {hint!r}")
    if field is not None and meta.get("description"):
        schema["description"] = meta["description"]
    return schema


def to_json(value: Any) -> Any:
    """A view dataclass (or a list of them) as JSON-ready data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value
