"""What the course files' pydantic models share: field types, rules, and errors told as Problems.

Readings and ``course.toml`` are written by hand, so pydantic's errors are retold in a course
author's words ("missing (required)", "expected int, found str") with the file and the dotted field
(``weeks[2].time.sections``), all at once. A rule across fields raises ``broken`` with problems
located below the object it checks; ``problems`` unfolds them into Problems.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    ConfigDict,
    PlainValidator,
    Strict,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    WrapValidator,
    model_validator,
)
from pydantic.dataclasses import dataclass
from pydantic_core import PydanticCustomError, core_schema

from coursekit.course.problems import Problem

Loc = tuple[str | int, ...]
Found = tuple[Loc, str]  # (where, below the object checked; reason)

# Unknown keys are errors (a misspelt key would otherwise be silently ignored); ``week:`` in a file
# fills ``Week.number``, while code builds it by name.
CONFIG = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True)


def broken(found: Iterable[Found]) -> PydanticCustomError:
    """The error a rule raises: every problem it found, each located below the object checked."""
    found = tuple(found)
    return PydanticCustomError("course", "{count} problem(s)", {"count": len(found), "problems": found})


def located(error: ValidationError) -> list[Found]:
    """Each of pydantic's errors as (where, reason), a ``broken`` rule's problems unfolded."""
    found: list[Found] = []
    for detail in error.errors(include_url=False):
        loc = tuple(detail["loc"])
        if detail["type"] == "course":
            found += [(loc + tuple(sub), reason) for sub, reason in detail["ctx"]["problems"]]
        else:
            found.append((loc, _reason(detail)))
    return found


def validated(adapter: TypeAdapter, value: object):
    """``value`` validated by ``adapter`` inside another validator, its problems kept where they are."""
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        raise broken(located(exc)) from None


def field_path(loc: Loc) -> str:
    """``("weeks", 2, "time")`` as a person reads it: ``weeks[2].time``."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path or "(file)"


def problems(error: ValidationError, file: str) -> list[Problem]:
    return [Problem(reason, file=file, field=field_path(loc)) for loc, reason in located(error)]


EXPECTED = {"int": "int", "string": "str", "bool": "bool", "float": "int or float", "list": "list", "tuple": "list"}
EXPECTED |= {"dict": "dict", "dataclass": "dict", "model": "dict", "datetime": "date-time"}


def _reason(detail) -> str:
    """A pydantic error in plain words; the common kinds as the hand checks said them."""
    kind, ctx = detail["type"], detail.get("ctx", {})
    if kind == "missing":
        return "missing (required)"
    if kind == "value_error":
        return str(ctx["error"])
    expected = EXPECTED.get(kind.removesuffix("_type").removesuffix("_parsing").split("_from_")[0])
    if expected:
        return f"expected {expected}, found {type(detail['input']).__name__}"
    return str(detail["msg"])


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("is empty")
    return value


def _number(value: object) -> float:
    """int or float as written (4 stays 4 on a page); never a bool or a string."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected int or float, found {type(value).__name__}")
    return value


Text = Annotated[str, Strict(), AfterValidator(_not_blank), WithJsonSchema({"type": "string", "pattern": r"\S"})]
Whole = Annotated[int, Strict()]
Number = Annotated[float, PlainValidator(_number), WithJsonSchema({"type": "number"})]


def check(rule: Callable[[Any], bool], reason: str) -> AfterValidator:
    """A field rule with its own reason: ``Annotated[Whole, check(lambda n: n >= 0, "must be zero or more")]``."""

    def apply(value):
        if not rule(value):
            raise ValueError(reason)
        return value

    return AfterValidator(apply)


class OneOf:
    """A text that must be one of ``options``: ``Annotated[str, OneOf("single", "multiple")]`` (a schema enum)."""

    def __init__(self, *options: str):
        self.options = options

    def __get_pydantic_core_schema__(self, source, handler):
        return core_schema.no_info_plain_validator_function(self._check)

    def __get_pydantic_json_schema__(self, schema, handler):
        return {"enum": list(self.options)}

    def _check(self, value: object) -> str:
        if value not in self.options:
            raise ValueError(f"must be one of {', '.join(self.options)}")
        return str(value)


@dataclasses.dataclass(frozen=True)
class AtLeast:
    """A list that needs ``count`` entries, said as "needs at least two options" (``minItems`` in the schema)."""

    count: int
    what: str

    def __get_pydantic_core_schema__(self, source, handler):
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(self, schema, handler):
        return {**handler(schema), "minItems": self.count}

    def _check(self, value: Sequence) -> Sequence:
        if len(value) < self.count:
            raise ValueError(f"needs at least {self.what}")
        return value


def duplicates(entries: Iterable[tuple[Loc, object]], what: str) -> list[Found]:
    """A problem for each entry whose value an earlier entry has: ids must be unique."""
    seen: dict[object, Loc] = {}
    found: list[Found] = []
    for loc, value in entries:
        if value in seen:
            found.append((loc, f"duplicate {what} {value!r} (first at {field_path(seen[value])})"))
        else:
            seen[value] = loc
    return found


def reported_with(found: list[Found], handler, value: Any):
    """``handler(value)``, its problems reported together with ``found`` (a rule's, over the value as written)."""
    try:
        result = handler(value)
    except ValidationError as exc:
        found = found + located(exc)
    require(found)
    return result


def alongside(rule: Callable[[Any], list[Found]]) -> WrapValidator:
    """A rule over a field's value as written, reported together with its entries' own problems."""
    return WrapValidator(lambda value, handler: reported_with(rule(value), handler, value))


def require(found: list[Found]) -> None:
    """Raise ``broken`` when a rule found problems."""
    if found:
        raise broken(found)


@dataclass(frozen=True, config=CONFIG)
class CourseData:
    """Base of every course model: an empty value counts as missing; unknown keys are named with the known ones.

    Other problems in the same mapping are still reported with the unknown key.
    """

    noun: ClassVar[str] = "field"

    @model_validator(mode="wrap")
    @classmethod
    def _as_written(cls, data: Any, handler):
        if not isinstance(data, dict):
            return handler(data)
        given = {key: value for key, value in data.items() if value is not None}
        known = [field.alias or name for name, field in cls.__pydantic_fields__.items()]  # type: ignore[attr-defined]
        unknown = [key for key in given if key not in known]
        if not unknown:
            return handler(given)
        found: list[Found] = [((), f"unknown {cls.noun} {key!r} (use {', '.join(known)})") for key in unknown]
        return reported_with(found, handler, {key: value for key, value in given.items() if key in known})
