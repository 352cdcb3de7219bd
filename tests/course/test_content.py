"""The real reading's content: answer keys, source keys in explanations, and the sample class's lengths;
sorter keys agree with the section sentence they rest on, wording labels quote, weeks fit their time.

These read the YAML files themselves (not only the loaded Reading), so a broken key is reported by
item id even where the loader would accept it.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib

import pytest
import yaml
from conftest import READING_DIR, ROOT

from coursekit.course.reading import Reading
from coursekit.notebook.build import week_cells
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


# ---------------------------------------------------------------- sorter keys and the sections they rest on

LIST_ITEM = re.compile(r"^\s*(?:[-*]|\d+\.)\s")
BOLD_LEAD = re.compile(r"^\s*(?:(?:[-*]|\d+\.)\s+)?\*\*(.+?)\*\*")


def blocks(summary: str) -> list[str]:
    """A section's paragraphs and list items, each one string."""
    found: list[str] = []
    fresh = True
    for line in summary.splitlines():
        if not line.strip():
            fresh = True
        elif fresh or LIST_ITEM.match(line):
            found.append(line)
            fresh = False
        else:
            found[-1] += " " + line
    return found


def category_name(label: str) -> str:
    """'1. Gratifying: the work is ...' -> 'gratifying': what a section's bold lead files a point under."""
    return re.sub(r"^\d+\.\s*", "", label).split(":")[0].strip().lower()


def filing_problems(sections: list[dict], sorters: list[dict]) -> list[str]:
    """Cards whose rests_on sentence is missing, or filed in its section under another category than the key."""
    by_id = {s["id"]: s for s in sections}
    problems = []
    for sorter in sorters:
        names = {c["id"]: category_name(c["label"]) for c in sorter["categories"]}
        for case in sorter["cases"]:
            where = f"{sorter['id']}/{case['id']}"
            rests = case.get("rests_on")
            if not rests:
                problems.append(f"{where}: names no rests_on sentence")
                continue
            section = by_id.get(rests["section"])
            if section is None or section["week"] != sorter["week"]:
                problems.append(f"{where}: rests on {rests['section']!r}, not a section of week {sorter['week']}")
                continue
            holding = [b for b in blocks(section["summary"]) if rests["text"] in b]
            if len(holding) != 1:
                problems.append(f"{where}: its sentence is in {len(holding)} paragraphs of {section['id']}, not 1")
                continue
            lead = BOLD_LEAD.match(holding[0])
            filed = lead.group(1).strip(" .:").lower() if lead else "(no bold lead)"
            if not filed.startswith(names[case["answer"]]):
                problems.append(
                    f"{where}: keyed {names[case['answer']]!r}, but {section['id']} files its sentence under {filed!r}"
                )
    return problems


def test_every_sorter_key_agrees_with_the_section_it_rests_on():
    assert filing_problems(load("sections.yaml")["sections"], sorters()) == []


def test_a_card_keyed_against_its_section_is_caught():
    """The issue-23 fault re-planted: the Handbook's ultra-exploitation point filed under claim 1 again."""
    sections = load("sections.yaml")["sections"]
    claims = next(s for s in sections if s["id"] == "claim-by-claim")
    moved = next(b for b in blocks(claims["summary"]) if "ultra-exploitation" in b).split("[O]. ", 1)[1]
    claims["summary"] = (
        claims["summary"]
        .replace(" " + moved, "")
        .replace("accept too readily [O].", "accept too readily [O]. " + moved)
    )
    assert filing_problems(sections, sorters()) == [
        "w3-claims/ultra-exploitation: keyed 'outside markets and ownership', "
        "but claim-by-claim files its sentence under 'gratifying'"
    ]
    cards = sorters()
    del cards[0]["cases"][0]["rests_on"]
    assert filing_problems(load("sections.yaml")["sections"], cards) == [
        "w1-claims/weekend-maintainer: names no rests_on sentence"
    ]


# ---------------------------------------------------------------- "in X's words" labels quote X

WORDING_LABEL = re.compile(
    r"\bin (?:the )?(?:[\w-]+ )?[\w-]+(?:'s|s') (?:own )?words\b|\bin the words of\b"
    r"|\bin (?:his|her|their) (?:own )?words\b|\b[\w-]+(?:'s|s') (?:own )?wording\b",
    re.IGNORECASE,
)
QUOTATION = re.compile(r'"[^"]+"|“[^”]+”')


def strings(data, where: str):
    """Every string in parsed YAML, with where it is."""
    if isinstance(data, str):
        yield where, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from strings(value, f"{where}.{key}")
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from strings(value, f"{where}[{index}]")


def unquoted_labels(texts) -> list[str]:
    """Labels claiming someone's wording that are not followed, in the same sentence, by a quotation."""
    problems = []
    for where, text in texts:
        for label in WORDING_LABEL.finditer(text):
            rest = text[label.end() :]
            sentence = re.split(r"(?<=[.!?])\s+(?=[A-Z*])|\n\s*\n", rest, maxsplit=1)[0]
            if not QUOTATION.search(sentence):
                problems.append(f"{where}: {label.group(0)!r} is followed by no quotation")
    return problems


def reading_strings():
    for path in sorted(READING_DIR.glob("*.yaml")):
        yield from strings(load(path.name), path.name)


def test_every_wording_label_is_followed_by_a_quotation():
    labels = [text for _, text in reading_strings() if WORDING_LABEL.search(text)]
    assert labels, "no wording label left to check: the check would pass on anything"
    assert unquoted_labels(reading_strings()) == []


def test_an_unquoted_wording_label_is_caught():
    """The issue-23 fault re-planted: the course's paraphrase labelled as Kelty's words."""
    planted = [
        ("five-claims", "In Kelty's words, admirers hold that peer production:\n\n4. suits every domain;"),
        ("category", "The fourth claim, in Kelty's wording [K]."),
        ("quoted", 'The fifth claim; Kelty\'s wording is "nonmarket and nonproprietary" [K].'),
    ]
    assert unquoted_labels(planted) == [
        'five-claims: "In Kelty\'s words" is followed by no quotation',
        'category: "Kelty\'s wording" is followed by no quotation',
    ]


# ---------------------------------------------------------------- the weekly time plan, feed replies included

MINUTES = (45, 60)
WRITING_WPM = 20  # words a student writes per minute, at best, in a reflection
READING_WPM = 250  # words a student reads per minute, at best
REPLY_MINUTES = 3  # the least one considered reply to a classmate takes


def replies_required() -> int:
    settings = tomllib.loads((ROOT / "course.toml").read_text(encoding="utf-8"))
    return settings["participation"]["replies_required"]


def plan_problems(reading: Reading, required: int) -> list[str]:
    """Weeks whose time plan is missing, outside MINUTES, short of what its work takes, or silent on the feed."""
    problems = []
    first = reading.weeks[0].number
    for week in reading.weeks:
        plan, n = dict(week.time), week.number
        expected = required if n > first else 0
        if not MINUTES[0] <= week.minutes <= MINUTES[1]:
            problems.append(f"week {n}: the time plan adds up to {week.minutes} minutes, not {MINUTES[0]}–{MINUTES[1]}")
        if week.replies != expected:
            problems.append(f"week {n}: expects {week.replies} feed replies, course.toml {expected}")
        words = sum(p.min_words for p in reading.prompts_for(n))
        if plan.get("reflections", 0) * WRITING_WPM < words:
            problems.append(f"week {n}: {plan.get('reflections', 0)} minutes for {words} words of reflections")
        if plan.get("replies", 0) < REPLY_MINUTES * week.replies:
            problems.append(f"week {n}: {plan.get('replies', 0)} minutes for {week.replies} replies")
        read = sum(len(s.summary.split()) for s in reading.sections_for(n))
        if plan.get("sections", 0) * READING_WPM < read:
            problems.append(f"week {n}: {plan.get('sections', 0)} minutes to read {read} words of sections")
        cells = [cell["source"] for cell in week_cells(reading, n)]
        if f"**Time plan, about {week.minutes} minutes:**" not in cells[0]:
            problems.append(f"week {n}: the notebook does not show the time plan")
        feed = [c for c in cells if c.startswith("## Respond to classmates")]
        if week.replies and not (
            feed and f"write **{week.replies} replies**" in feed[0] and f"about {plan['replies']} minutes" in feed[0]
        ):
            problems.append(f"week {n}: the feed cell does not say how many replies, and how long they take")
    return problems


def test_each_week_plans_45_to_60_minutes_with_the_feed_replies_in_the_notebook(reading):
    assert plan_problems(reading, replies_required()) == []


def test_a_plan_without_the_feed_replies_is_caught(reading):
    """The issue-23 fault re-planted: week 3 planned without its two feed replies, week 1 padded past 60."""
    weeks = list(reading.weeks)
    weeks[2] = dataclasses.replace(weeks[2], time=weeks[2].time[:-1], replies=0)
    weeks[0] = dataclasses.replace(weeks[0], time=(("sections", 60), *weeks[0].time[1:]))
    weeks[3] = dataclasses.replace(weeks[3], time=(*weeks[3].time[:2], ("reflections", 5), weeks[3].time[3]))
    assert plan_problems(dataclasses.replace(reading, weeks=tuple(weeks)), replies_required()) == [
        "week 1: the time plan adds up to 90 minutes, not 45–60",
        "week 3: expects 0 feed replies, course.toml 2",
        "week 4: the time plan adds up to 35 minutes, not 45–60",
        "week 4: 5 minutes for 360 words of reflections",
    ]


def test_a_notebook_silent_on_the_plan_or_the_replies_is_caught(reading, monkeypatch):
    """The build's time plan and feed note are what the check reads: without them it fails."""
    from coursekit.notebook import build

    monkeypatch.setattr(build, "replies_note", lambda info: "")
    monkeypatch.setattr(build, "time_plan", lambda info, prompts: "")
    found = plan_problems(reading, replies_required())
    assert [p for p in found if "feed cell" in p] == [
        f"week {n}: the feed cell does not say how many replies, and how long they take" for n in (2, 3, 4)
    ]
    assert [p for p in found if "time plan" in p] == [
        f"week {n}: the notebook does not show the time plan" for n in (1, 2, 3, 4)
    ]
