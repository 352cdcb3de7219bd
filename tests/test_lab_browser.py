"""A student's session in real JupyterLab and Chromium: run, answer, write, save; then collect it."""

from __future__ import annotations

import pytest
from browser import chromium, course_copy, jupyterlab
from conftest import ARTIFACTS, ROOT

from coursekit.collect import collect
from coursekit.log import open_log

NOTEBOOK = "week01-the-promise.ipynb"
TOKEN = "coursekit-test"
REFLECTION = "Typed in the browser: written rules protected me when a volunteer moderator forgot."


@pytest.mark.timeout(300)
def test_student_session_in_jupyterlab_is_collected(tmp_path, reading):
    course = course_copy(ROOT, tmp_path / "course", [NOTEBOOK])
    ARTIFACTS.mkdir(exist_ok=True)
    first_item = reading.quiz_for(1)[0]
    correct = next(iter(first_item.correct))

    with jupyterlab(course / "notebooks", tmp_path, TOKEN) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(60_000)
        page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={TOKEN}")
        page.wait_for_selector(".jp-Notebook .jp-MarkdownCell")
        page.wait_for_selector("text=Python 3 (ipykernel) | Idle")

        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()

        question = page.locator(".coursekit-quiz-question").first
        question.locator(".widget-radio-box input").nth(correct).check()
        question.get_by_role("button", name="Check").click()
        question.locator("text=Correct.").wait_for()
        assert first_item.options[correct].explanation[:40] in question.inner_text()

        handle = page.locator(".coursekit-stance .noUi-handle").first
        handle.scroll_into_view_if_needed()
        handle.focus()
        page.keyboard.press("ArrowLeft")
        page.keyboard.press("ArrowLeft")
        page.wait_for_selector(".coursekit-stance >> text=Recorded:")

        cell = page.locator(".jp-MarkdownCell", has_text="Write your reflection here").first
        cell.scroll_into_view_if_needed()
        cell.dblclick()
        cell.locator(".cm-content").click()
        page.keyboard.press("Control+a")
        page.keyboard.type(REFLECTION)
        page.keyboard.press("Shift+Enter")
        page.keyboard.press("Control+s")
        page.wait_for_selector(".jp-mod-dirty", state="detached")
        page.locator(".coursekit-quiz").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "jupyterlab-week01.png"))

    submissions = tmp_path / "submissions"
    (submissions / "ann").mkdir(parents=True)
    (course / "notebooks" / NOTEBOOK).rename(submissions / "ann" / NOTEBOOK)
    report = collect(submissions, tmp_path / "log.db")
    assert report.count("collected") == 1, report.results

    log = open_log(tmp_path / "log.db")
    texts = dict(zip(log.reflections().prompt_id, log.reflections().text, strict=True))
    assert texts[reading.prompts_for(1)[0].id] == REFLECTION
    saved = log.answers().set_index("kind")
    quiz = saved.loc["quiz", "state"]
    assert quiz["items"] == [{"id": first_item.id, "chosen": [correct], "correct": True}]
    assert quiz["score"] == 1
    stance = saved.loc["stance", "state"]
    assert stance["value"] == reading.stance("saving-grace").steps // 2 - 2
