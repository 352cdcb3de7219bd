"""A whole term of a small class through the real commands: every grade, thread and flag as handed in.

The simulation (``tests/term.py``, also run at 300 students by ``benchmarks/bench_term.py``) says
what should come out from what it handed in; the product's own files say what did.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from term import Term

STUDENTS = 12
# The module's fixture runs a whole term (every week's intake, collect, review, publish, feedback).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def term(tmp_path_factory) -> Term:
    term = Term(tmp_path_factory.mktemp("term"), STUDENTS, seed=4)
    for week in (w.week for w in term.settings.weeks):
        term.week(week)
    term.finish()
    return term


def rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open(encoding="utf-8")))


def test_the_class_is_hard_enough(term):
    """The class holds every case the assertions below are about (else they would pass vacuously)."""
    works = list(term.work.values())
    assert any(len(w.attempts) == 2 and not any(a.broken for a in w.attempts) for w in works)  # resubmitted
    assert any(w.attempts[-1].broken and len(w.attempts) == 2 for w in works)  # a broken resubmission
    assert any(w.attempts[0].broken and len(w.attempts) == 1 for w in works)  # only a broken file
    assert any(w.twice for w in works) and any(w.extension for w in works)
    assert any(v for v in term.expected_late().values())
    assert any(sum(a.images.values()) for w in works for a in w.attempts)
    threads = term.expected_threads()
    assert any(parent and parent.startswith("c") for _, parent, _, _ in threads.values())  # a reply to a reply
    names = [p.full for p in term.people]
    assert len(set(names)) < len(names)  # two students with the same name


def test_intake_lands_every_file_on_its_student_with_its_late_flag(term):
    """The dry run: every readable file on its student, late or not, and the copies collect will pass over."""
    outcomes = term.expected_outcomes()
    for download in term.downloads:
        table = rows(download.path.with_suffix(".intake.csv"))
        landed = {r["file"]: (r["student"], r["late"]) for r in table if r["status"] in ("ok", "duplicate")}
        expected = {
            name: (work.person.key, str(term.late(work, attempt)))
            for name, (work, attempt) in download.members.items()
            if not attempt.broken
        }
        assert landed == expected, download.path
        # an older copy uploaded twice is a duplicate in the dry run as in collect (they read files one way)
        duplicates = {name for name in download.members if outcomes[download.path, name] == "duplicate"}
        assert {r["file"] for r in table if r["status"] == "duplicate"} == duplicates, download.path
        assert {r["file"] for r in table if r["status"] not in ("ok", "duplicate")} == download.broken  # by name


def test_collect_reports_every_file_as_it_should_broken_ones_by_name(term):
    """collected, updated (a resubmission), unchanged (downloaded again), duplicate (uploaded twice), failed."""
    expected = term.expected_outcomes()
    got = {}
    for download in term.downloads:
        for r in rows(download.path.with_suffix(".csv")):
            zip_path, member = r["path"].split(".zip:", 1)
            got[Path(zip_path + ".zip"), member] = r["status"]
            if r["status"] == "failed":
                assert r["hint"], r  # says what to do
    assert got == expected
    assert {"collected", "updated", "unchanged", "duplicate", "failed"} == set(expected.values())


def test_every_grade_is_what_the_rules_give_for_what_was_handed_in(term):
    expected = term.expected_grades()
    assert term.actual_grades() == expected
    assert any(v is None for v in expected.values()) and sum(v is not None for v in expected.values()) > STUDENTS


def test_every_thread_reply_like_and_image_is_as_handed_in(term):
    assert term.actual_threads() == term.expected_threads()


def test_resubmissions_keep_the_newest_version(term):
    versions = term.expected_versions()
    assert term.actual_versions() == versions
    assert 2 in versions.values() and 1 in versions.values()


def test_late_flags_in_the_detail_file(term):
    detail = rows(term.root / "detail.csv")
    got = {(r["student"], int(float(r["week"]))): r["late"] == "True" for r in detail if r["week"]}
    assert got == term.expected_late()


def test_feedback_pages_and_the_site_show_each_students_newest_work(term):
    index = {r["student"]: r["file"] for r in rows(term.root / "feedback" / "index.csv")}
    submitted = {key for key, week in term.work if term.stored(key, week) is not None}
    assert set(index) == submitted
    versions = term.expected_versions()
    for key in submitted:
        page = (term.root / "feedback" / index[key]).read_text(encoding="utf-8")
        index_of = next(p.index for p in term.people if p.key == key)
        for tag, version in versions.items():
            if tag.startswith(f"r{index_of}-"):
                assert f"⟦{tag} v{version}⟧" in page
    site = "".join(p.read_text(encoding="utf-8") for p in (term.root / "site").glob("*.html"))
    for tag, version in versions.items():
        assert f"⟦{tag} v{version}⟧" in site
    for person in term.people:  # pseudonyms on the site: no real name, no e-mail
        assert person.full not in site and person.key not in site
