"""The course files' models: the JSON Schemas an editor uses, and unknown keys named with the known ones."""

from __future__ import annotations

import json
import shutil
import tomllib

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from conftest import READING_DIR, ROOT

from coursekit.cli import main
from coursekit.course.reading import FILES, ReadingError, load_reading
from coursekit.course.settings import SettingsError, load_settings


def as_taplo_reads(toml_text: str) -> dict:
    """course.toml as JSON, the way Taplo checks it against a schema (date-times as strings)."""
    return json.loads(json.dumps(tomllib.loads(toml_text), default=lambda value: value.isoformat()))


@pytest.fixture(scope="module")
def schemas(tmp_path_factory) -> dict[str, jsonschema.Validator]:
    out = tmp_path_factory.mktemp("schemas")
    result = CliRunner().invoke(main, ["schema", "--out", str(out)])
    assert result.exit_code == 0, result.output
    validators = {}
    for path in sorted(out.glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        kind = jsonschema.validators.validator_for(schema)
        assert kind is jsonschema.Draft7Validator, path  # what the YAML extension and Taplo read
        kind.check_schema(schema)
        validators[path.name] = kind(schema, format_checker=kind.FORMAT_CHECKER)
    return validators


def test_a_schema_for_each_file_and_the_real_course_passes_them(schemas):
    kinds = [f"{name.removesuffix('.yaml')}.schema.json" for name in FILES] + ["course-settings.schema.json"]
    assert sorted(schemas) == sorted(kinds)
    for name in FILES:
        data = yaml.safe_load((READING_DIR / name).read_text(encoding="utf-8"))
        assert list(schemas[f"{name.removesuffix('.yaml')}.schema.json"].iter_errors(data)) == [], name
    course = as_taplo_reads((ROOT / "course.toml").read_text(encoding="utf-8"))
    assert list(schemas["course-settings.schema.json"].iter_errors(course)) == []


def test_the_schemas_reject_what_the_loader_rejects(schemas):
    quiz = yaml.safe_load((READING_DIR / "quiz.yaml").read_text(encoding="utf-8"))
    quiz["items"][0]["optoins"] = quiz["items"][0].pop("options")  # a misspelt key
    quiz["items"][1]["kind"] = "several"
    found = {error.json_path for error in schemas["quiz.schema.json"].iter_errors(quiz)}
    assert {"$.items[0]", "$.items[1].kind"} <= found, found
    reading = yaml.safe_load((READING_DIR / "reading.yaml").read_text(encoding="utf-8"))
    reading["citation"]["year"] = "2011"
    reading["weeks"][0]["time"]["lunch"] = 20
    reading["weeks"][1]["slug"] = "   "
    found = {error.json_path for error in schemas["reading.schema.json"].iter_errors(reading)}
    assert {"$.citation.year", "$.weeks[0].time", "$.weeks[1].slug"} <= found, found
    course = as_taplo_reads((ROOT / "course.toml").read_text(encoding="utf-8"))
    course["course"]["names"] = "nicknames"
    del course["rubric"]
    found = {error.json_path for error in schemas["course-settings.schema.json"].iter_errors(course)}
    assert {"$.course.names", "$"} <= found, found


def test_a_misspelt_key_is_named_with_the_keys_the_file_knows(tmp_path):
    """Unknown keys were silently ignored before; now each is a problem, beside the entry's other problems."""
    folder = tmp_path / "reading"
    shutil.copytree(READING_DIR, folder)
    prompts = yaml.safe_load((folder / "prompts.yaml").read_text(encoding="utf-8"))
    prompts["prompts"][0]["min_word"] = prompts["prompts"][0].pop("min_words")
    prompts["prompts"][1]["week"] = "two"
    prompts["prompts"][2]["id"] = prompts["prompts"][0]["id"]  # still found beside the other mistakes
    (folder / "prompts.yaml").write_text(yaml.safe_dump(prompts), encoding="utf-8")
    with pytest.raises(ReadingError) as refused:
        load_reading(folder)
    assert [str(p) for p in refused.value.problems] == [
        "prompts.yaml: prompts[2].id: duplicate prompt id 'w1-consensus' (first at prompts[0].id)",
        "prompts.yaml: prompts[0]: unknown field 'min_word' (use id, week, text, min_words)",
        "prompts.yaml: prompts[0].min_words: missing (required)",
        "prompts.yaml: prompts[1].week: expected int, found str",
    ]


def test_course_toml_unknown_keys_and_types_are_named(tmp_path):
    text = (
        (ROOT / "course.toml")
        .read_text(encoding="utf-8")
        .replace('reading = "readings/', f'reading = "{ROOT}/readings/')
    )
    toml = tmp_path / "course.toml"
    toml.write_text(
        text.replace("late_penalty = 0.1", 'late_penalty = "10%"').replace("[roster]", "[roster]\nfiel = 3")
    )
    with pytest.raises(SettingsError) as refused:
        load_settings(toml)
    assert [str(p) for p in refused.value.problems] == [
        "course.toml: roster: unknown field 'fiel' (use file, student_column, missing)",
        "course.toml: participation.late_penalty: expected int or float, found str",
    ]
    toml.write_text(text)
    settings = load_settings(toml)
    assert settings.late_penalty == 0.1 and type(settings.rubric[0].points) is int  # 4 stays 4 on a page
