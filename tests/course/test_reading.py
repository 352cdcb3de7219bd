"""Loading the readings data: the real reading loads; each kind of mistake names file, field, reason."""

from __future__ import annotations

import shutil

import pytest
import yaml
from conftest import READING_DIR

from coursekit.course.reading import ReadingError, load_reading


def test_real_reading_loads(reading):
    assert reading.citation.apa.startswith("Kreiss, D., Finn, M., & Turner, F. (2011).")
    assert "*New Media & Society, 13*(2), 243–259." in reading.citation.apa
    assert [w.number for w in reading.weeks] == [1, 2, 3, 4]
    assert len(reading.prompts_for(1)) == 3
    assert reading.sections_for(1) and reading.quiz_for(1) and reading.glossary
    for item in reading.quiz:
        assert item.correct, item.id
        assert all(o.explanation for o in item.options)


@pytest.fixture
def copy(tmp_path):
    target = tmp_path / "reading"
    shutil.copytree(READING_DIR, target)

    def edit(name: str, change) -> None:
        path = target / name
        data = yaml.safe_load(path.read_text())
        change(data)
        path.write_text(yaml.safe_dump(data, allow_unicode=True))

    return target, edit


def problems(folder) -> list[str]:
    with pytest.raises(ReadingError) as info:
        load_reading(folder)
    return [str(p) for p in info.value.problems]


def test_quiz_item_without_correct_answer(copy):
    folder, edit = copy

    def no_correct(data):
        for option in data["items"][1]["options"]:
            option["correct"] = False

    edit("quiz.yaml", no_correct)
    assert "quiz.yaml: items[1].options: no option is marked correct: true" in problems(folder)


def test_duplicate_prompt_id(copy):
    folder, edit = copy
    edit("prompts.yaml", lambda d: d["prompts"][1].update(id=d["prompts"][0]["id"]))
    found = problems(folder)
    assert any(p.startswith("prompts.yaml: prompts[1].id: duplicate prompt id") for p in found), found


def test_missing_citation_field(copy):
    folder, edit = copy
    edit("reading.yaml", lambda d: d["citation"].pop("journal"))
    assert "reading.yaml: citation.journal: missing (required)" in problems(folder)


def test_several_problems_reported_together(copy):
    folder, edit = copy
    edit("reading.yaml", lambda d: d["citation"].update(year="2011"))
    edit("prompts.yaml", lambda d: d["prompts"][0].update(week=9, min_words=-3))
    edit("sections.yaml", lambda d: d["sections"][0].update(sources=["NOPE"]))
    found = problems(folder)
    assert "reading.yaml: citation.year: expected int, found str" in found
    assert "prompts.yaml: prompts[0].week: week 9 is not listed in reading.yaml" in found
    assert "prompts.yaml: prompts[0].min_words: must be zero or more" in found
    assert any("sections[0].sources: unknown source key 'NOPE'" in p for p in found)


def test_single_choice_with_two_correct(copy):
    folder, edit = copy

    def two_correct(data):
        item = next(i for i in data["items"] if i.get("kind", "single") == "single")
        for option in item["options"][:2]:
            option["correct"] = True

    edit("quiz.yaml", two_correct)
    assert any("more than one correct option" in p for p in problems(folder))


def test_reading_yaml_is_read_by_libyaml_safely_and_as_the_pure_python_loader_reads_it(copy):
    """libyaml's safe loader: the same data, a python tag still refused, about 20x faster (bench_term)."""
    from coursekit.course.reading import YAML_LOADER, _read_yaml

    assert YAML_LOADER is yaml.CSafeLoader  # PyYAML's wheels are built with libyaml
    for path in sorted(READING_DIR.glob("*.yaml")):
        assert _read_yaml(path, []) == yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    folder, _ = copy
    (folder / "glossary.yaml").write_text("terms: !!python/object/apply:os.system ['true']\n")
    assert any("glossary.yaml: line 1" in p and "not valid YAML" in p for p in problems(folder))


def test_broken_yaml_and_missing_file(copy):
    folder, _ = copy
    (folder / "glossary.yaml").write_text("terms: [unclosed\n")
    (folder / "prompts.yaml").unlink()
    found = problems(folder)
    assert any(p.startswith("glossary.yaml: line") and "not valid YAML" in p for p in found), found
    assert any(p.startswith("prompts.yaml: (file): missing") for p in found), found


def test_not_a_folder(tmp_path):
    assert "not a folder" in problems(tmp_path / "missing")[0]


def test_malformed_concept_card(copy):
    folder, edit = copy
    edit("glossary.yaml", lambda d: d["terms"][2].pop("definition"))
    assert "glossary.yaml: terms[2].definition: missing (required)" in problems(folder)


def test_case_with_unknown_category_and_activity_with_unknown_term(copy):
    folder, edit = copy
    edit("cases.yaml", lambda d: d["sorters"][0]["cases"][1].update(answer="feudal"))
    edit("sections.yaml", lambda d: d["sections"][1].update(activity={"cards": ["Flux capacitor"]}))
    found = problems(folder)
    assert any(p.startswith("cases.yaml: sorters[0].cases[1].answer: 'feudal' is not one of") for p in found), found
    assert "sections.yaml: sections[1].activity.cards: 'Flux capacitor' is not defined in glossary.yaml" in found


def test_activity_needs_exactly_one_kind(copy):
    folder, edit = copy
    edit("sections.yaml", lambda d: d["sections"][0].update(activity={"stance": "saving-grace", "sorter": "x"}))
    assert "sections.yaml: sections[0].activity: give exactly one of cards, stance, sorter" in problems(folder)


def test_every_section_has_an_activity_and_every_week_a_quiz(reading):
    for week in reading.weeks:
        assert all(s.activity for s in reading.sections_for(week.number)), week
        assert reading.quiz_for(week.number) and 2 <= len(reading.prompts_for(week.number)) <= 3
    stance_weeks = {s.week for s in reading.sections if s.activity.kind == "stance"}
    assert stance_weeks == {1, 4}


def test_card_resting_on_an_unknown_section_or_a_sentence_not_in_it(copy):
    folder, edit = copy

    def bad_rests(data):
        data["sorters"][2]["cases"][0]["rests_on"] = {"section": "no-such-section", "text": "anything"}
        data["sorters"][2]["cases"][1]["rests_on"]["text"] = "a sentence the section never says"
        data["sorters"][2]["cases"][2]["rests_on"] = "claim-by-claim"

    edit("cases.yaml", bad_rests)
    found = problems(folder)
    assert (
        "cases.yaml: sorters[2].cases[0].rests_on.section: 'no-such-section' is not a section id in sections.yaml"
        in found
    )
    assert (
        "cases.yaml: sorters[2].cases[1].rests_on.text: not found word for word in section 'claim-by-claim': "
        "'a sentence the section never says'" in found
    )
    assert "cases.yaml: sorters[2].cases[2].rests_on: expected dict, found str" in found


def test_time_plan_and_replies_are_checked(copy):
    folder, edit = copy

    def bad_plans(data):
        data["weeks"][0]["time"].update(lunch=20, sections=0)
        data["weeks"][0]["replies"] = 2
        data["weeks"][1]["time"].pop("replies")
        data["weeks"][2]["replies"] = 0
        data["weeks"][3]["replies"] = -1

    edit("reading.yaml", bad_plans)
    found = problems(folder)
    assert "reading.yaml: weeks[0].time: unknown part 'lunch' (use sections, self-check, reflections, replies)" in found
    assert "reading.yaml: weeks[0].time.sections: must be a positive number of minutes" in found
    assert "reading.yaml: weeks[0].replies: the first week has no peer feed to reply in" in found
    assert "reading.yaml: weeks[1].time: give the minutes for the replies (time: {replies: N})" in found
    assert "reading.yaml: weeks[2].replies: the time plan has minutes for replies: say how many are expected" in found
    assert "reading.yaml: weeks[3].replies: must be zero or more" in found
