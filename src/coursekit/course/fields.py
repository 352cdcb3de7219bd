"""Typed fields out of parsed YAML or TOML, with every mistake recorded as file, field and reason.

Instructors edit readings and course settings by hand; reporting all problems at once, each with
where it is, saves them a round trip per typo.
"""

from __future__ import annotations

from coursekit.course.problems import Problem

__all__ = ["FieldChecker", "Problem"]


class FieldChecker:
    """Reads typed fields for one file, recording a Problem instead of raising."""

    def __init__(self, problems: list[Problem], file: str):
        self.problems = problems
        self.file = file

    def fail(self, where: str, reason: str) -> None:
        self.problems.append(Problem(reason, file=self.file, field=where))

    def get(self, data: dict, where: str, key: str, kind: type | tuple[type, ...], required: bool = True, default=None):
        path = f"{where}.{key}" if where else key
        if key not in data or data[key] is None:
            if required:
                self.fail(path, "missing (required)")
            return default
        value = data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            self.fail(path, f"expected {' or '.join(k.__name__ for k in kinds)}, found {type(value).__name__}")
            return default
        if isinstance(value, str) and not value.strip():
            self.fail(path, "is empty")
            return default
        return value

    def text(self, data: dict, where: str, key: str, required: bool = True, default: str = "") -> str:
        return self.get(data, where, key, str, required=required, default=default)

    def choice(self, data: dict, where: str, key: str, options: tuple[str, ...], default: str) -> str:
        value = self.text(data, where, key, required=False, default=default)
        if value not in options:
            self.fail(f"{where}.{key}", f"must be one of {', '.join(options)}")
            return default
        return value

    def items(self, data: dict, key: str, where: str = "", required: bool = True) -> list[tuple[str, dict]]:
        """The entries of a list of tables, each with its path (``weeks[2]``)."""
        raw = self.get(data, where, key, list, required=required, default=[])
        prefix = f"{where}.{key}" if where else key
        entries = []
        for index, item in enumerate(raw):
            if isinstance(item, dict):
                entries.append((f"{prefix}[{index}]", item))
            else:
                self.fail(f"{prefix}[{index}]", "expected a mapping of fields")
        return entries

    def unique(self, entries: list[tuple[str, object]], what: str) -> None:
        seen: dict[object, str] = {}
        for where, value in entries:
            if value in seen:
                self.fail(where, f"duplicate {what} {value!r} (first at {seen[value]})")
            else:
                seen[value] = where
