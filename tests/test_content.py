"""The real reading's content: answer keys, source keys in explanations, and the sample class's lengths.

These read the YAML files themselves (not only the loaded Reading), so a broken key is reported by
item id even where the loader would accept it.
"""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import READING_DIR

from coursekit.notebook.cells import word_count

# A source key as the YAML writes it: [A], [H1], [O, D], [GK].
KEYS = re.compile(r"\[([A-Z][A-Z0-9]*(?:\s*,\s*[A-Z][A-Z0-9]*)*)\]")
POST_WORDS = (100, 130)
REPLY_WORDS = (80, 100)


def load(name: str) -> dict:
    return yaml.safe_load((READING_DIR / name).read_text(encoding="utf-8"))


def cited(text: str) -> list[str]:
    return [key.strip() for group in KEYS.findall(text) for key in group.split(",")]


@pytest.fixture(scope="module")
def known_keys() -> set[str]:
    return set(load("reading.yaml")["sources"])


def quiz_items() -> list[dict]:
    return load("quiz.yaml")["items"]


def sorters() -> list[dict]:
    return load("cases.yaml")["sorters"]


def explanations() -> list[tuple[str, str]]:
    """(where, explanation) for every quiz option, sorter category and sorter case."""
    found = []
    for item in quiz_items():
        for n, option in enumerate(item["options"]):
            found.append((f"quiz {item['id']} option {n}", option.get("explanation", "")))
    for sorter in sorters():
        for category in sorter["categories"]:
            found.append((f"sorter {sorter['id']} category {category['id']}", category.get("explanation", "")))
        for case in sorter["cases"]:
            found.append((f"sorter {sorter['id']} case {case['id']}", case.get("explanation", "")))
    return found


def test_every_single_choice_item_has_exactly_one_keyed_answer():
    items = quiz_items()
    assert items
    for item in items:
        keyed = [o for o in item["options"] if o.get("correct") is True]
        if item.get("kind", "single") == "single":
            assert len(keyed) == 1, f"{item['id']}: {len(keyed)} options marked correct, expected exactly one"
        else:
            assert keyed and len(keyed) < len(item["options"]), f"{item['id']}: needs right and wrong options"


def test_every_sorter_case_has_exactly_one_category():
    for sorter in sorters():
        categories = [c["id"] for c in sorter["categories"]]
        assert len(set(categories)) == len(categories), sorter["id"]
        ids = [case["id"] for case in sorter["cases"]]
        assert len(set(ids)) == len(ids), f"{sorter['id']}: duplicate case ids"
        for case in sorter["cases"]:
            answer = case.get("answer")
            assert isinstance(answer, str), f"{sorter['id']}/{case['id']}: answer must be one category, got {answer!r}"
            assert answer in categories, f"{sorter['id']}/{case['id']}: {answer!r} is not a category"


@pytest.mark.parametrize("where, explanation", explanations(), ids=[w for w, _ in explanations()])
def test_every_explanation_names_a_known_source_key(where, explanation, known_keys):
    keys = cited(explanation)
    assert keys, f"{where}: explanation names no source key: {explanation!r}"
    unknown = sorted(set(keys) - known_keys)
    assert not unknown, f"{where}: unknown source key(s) {unknown} (define them in reading.yaml)"


def test_every_key_in_section_text_is_defined(known_keys):
    for section in load("sections.yaml")["sections"]:
        unknown = sorted(set(cited(section["summary"])) - known_keys)
        assert not unknown, f"section {section['id']}: unknown source key(s) {unknown}"


def test_sample_class_lengths_and_prompts():
    prompts = {p["id"]: p for p in load("prompts.yaml")["prompts"]}
    posts = load("sample-class.yaml")["posts"]
    assert posts
    for n, post in enumerate(posts):
        prompt = prompts[post["prompt_id"]]
        words = word_count(post["message"])
        assert prompt["week"] == post["week"], f"post {n} answers a week {prompt['week']} prompt"
        assert POST_WORDS[0] <= words <= POST_WORDS[1], f"post {n} ({post['prompt_id']}) has {words} words"
        assert words >= prompt["min_words"], f"post {n}: {words} words, its prompt asks for {prompt['min_words']}"
        for m, reply in enumerate(post.get("replies", [])):
            reply_prompt = prompts[reply["prompt_id"]]
            words = word_count(reply["message"])
            where = f"post {n} reply {m} ({reply['prompt_id']})"
            assert reply_prompt["week"] == post["week"] + 1, f"{where}: not the next week's reply prompt"
            assert REPLY_WORDS[0] <= words <= REPLY_WORDS[1], f"{where} has {words} words"
            assert words >= reply_prompt["min_words"], f"{where}: {words} words, below its prompt's minimum"


def test_week_2_prompts_ask_for_a_point_from_the_sections():
    week2 = [p for p in load("prompts.yaml")["prompts"] if p["week"] == 2]
    assert week2
    for prompt in week2:
        assert "one point from this week's sections" in prompt["text"], prompt["id"]
