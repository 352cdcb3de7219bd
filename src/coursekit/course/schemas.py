"""JSON Schemas of the course files, made from their models, for a course author's editor.

VS Code's YAML extension and Taplo (Even Better TOML) check a file against a schema as it is typed,
so a misspelt key or a missing field shows before any command runs. The schema says what each
file alone may hold; what files name from each other (weeks, source keys, ids) is checked by
``load_reading`` and ``load_settings`` only.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import TypeAdapter

from coursekit.course.reading_models import FILE_MODELS
from coursekit.course.settings import FILE_NAME, CourseFile

# The schema file for each course file: reading.yaml -> reading.schema.json, course.toml -> course-settings.
SCHEMAS: dict[str, tuple[str, type]] = {
    **{f"{name.removesuffix('.yaml')}.schema.json": (name, model) for name, model in FILE_MODELS.items()},
    "course-settings.schema.json": (FILE_NAME, CourseFile),
}


def schema(file_name: str, model: type) -> dict:
    """One course file's JSON Schema, declared draft-07: it uses only keywords drafts 4 to 7 know (Taplo reads 4)."""
    found = TypeAdapter(model).json_schema(mode="validation")
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": file_name,
        "description": f"coursekit's {file_name} (see the README, Course content).",
        **{key: value for key, value in found.items() if key != "title"},
    }


def write_schemas(out: str | Path) -> list[Path]:
    """Write one ``*.schema.json`` per course file into ``out``; the paths written."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for schema_name, (file_name, model) in SCHEMAS.items():
        path = folder / schema_name
        path.write_text(json.dumps(schema(file_name, model), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written
