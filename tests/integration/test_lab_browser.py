"""A student's session in real JupyterLab and Chromium: run, answer, write, save; then collect it."""

from __future__ import annotations

import base64
import json

import pytest
from browser import TOKEN, chromium, course_copy, jupyterlab, open_notebook, run_all, serious_violations
from click.testing import CliRunner
from conftest import ARTIFACTS, ROOT, filled_notebook, student_answers, write_notebook
from images import png

from coursekit.cli import main
from coursekit.intake.sources import gather
from coursekit.log.collect import collect
from coursekit.log.frames import open_log
from coursekit.notebook import answers

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # each test is a JupyterLab session in Chromium

NOTEBOOK = "week01-the-promise.ipynb"
CLIPBOARD = ["clipboard-read", "clipboard-write"]
REFLECTION = "Typed in the browser: written rules protected me when a volunteer moderator forgot."


def open_and_run_all(browser, base: str, notebook: str):
    """Open a notebook in JupyterLab as a student would and run every cell from the Run menu."""
    page = open_notebook(browser, base, notebook)
    run_all(page)
    return page


def answer_first_question(page, option: int):
    """Choose ``option`` in the self-check's first question and press Check; return the question."""
    question = page.locator(".coursekit-quiz-question").first
    question.locator(".widget-radio-box input").nth(option).check()
    question.get_by_role("button", name="Check").click()
    return question


def quiz_cell_count(path) -> int:
    """The execution count of the saved notebook's quiz cell: tells one run from the next."""
    cells = json.loads(path.read_text())["cells"]
    return next(c["execution_count"] for c in cells if "widgets.Quiz(" in "".join(c["source"]))


def save(page) -> None:
    page.keyboard.press("Control+s")
    page.wait_for_selector(".jp-mod-dirty", state="detached")


@pytest.mark.timeout(300)
def test_student_session_in_jupyterlab_is_collected(tmp_path, reading):
    course = course_copy(ROOT, tmp_path / "course", [NOTEBOOK])
    ARTIFACTS.mkdir(exist_ok=True)
    first_item = reading.quiz_for(1)[0]
    correct = next(iter(first_item.correct))

    with jupyterlab(course / "notebooks", tmp_path, TOKEN) as base, chromium() as browser:
        page = open_and_run_all(browser, base, NOTEBOOK)

        question = answer_first_question(page, correct)
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
        save(page)
        page.locator(".coursekit-quiz").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "jupyterlab-week01.png"))

        # The student comes back later and runs everything again: the saved answers must survive.
        first_run = quiz_cell_count(course / "notebooks" / NOTEBOOK)
        run_all(page)
        page.wait_for_function(
            """n => [...document.querySelectorAll('.jp-CodeCell')]
                .filter(c => c.textContent.includes('widgets.Quiz('))
                .map(c => c.querySelector('.jp-InputPrompt').textContent.match(/\\[(\\d+)\\]/))
                .some(m => m && parseInt(m[1]) > n)""",
            arg=first_run,
        )  # the quiz cell has run again
        page.wait_for_selector("text=Python 3 (ipykernel) | Idle")
        page.get_by_text("Recorded your self-check: 1 of 4 correct").wait_for()
        assert "Correct." in page.locator(".coursekit-quiz-question").first.inner_text()
        save(page)
        assert quiz_cell_count(course / "notebooks" / NOTEBOOK) > first_run

    submissions = tmp_path / "submissions"
    (submissions / "ann").mkdir(parents=True)
    (course / "notebooks" / NOTEBOOK).rename(submissions / "ann" / NOTEBOOK)
    report = collect(gather(submissions), tmp_path / "log.db")
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


@pytest.mark.timeout(300)
def test_replies_and_likes_from_jupyterlab_reach_the_log(tmp_path, reading):
    """Week 1 collected and its feed published; in week 2 a student likes and replies in the browser."""
    course = course_copy(ROOT, tmp_path / "course", ["week02-webers-reminders.ipynb"])
    for n, student in enumerate(["ann", "bob", "cem"]):
        notebook = filled_notebook(reading, 1, student_answers(reading, 1, student))
        write_notebook(tmp_path / "week1" / student / "week01.ipynb", notebook, mtime=1_700_000_000 + n)
    db = tmp_path / "class.db"
    assert collect(gather(tmp_path / "week1"), db).count("collected") == 3
    result = CliRunner().invoke(
        main, ["publish", "--feed", "--week", "1", "--db", str(db), "--out", str(course / "feed")]
    )
    assert result.exit_code == 0, result.output

    with jupyterlab(course / "notebooks", tmp_path, TOKEN) as base, chromium() as browser:
        page = open_and_run_all(browser, base, "week02-webers-reminders.ipynb")
        feed = page.locator(".coursekit-peers")
        feed.scroll_into_view_if_needed()
        assert "Sample class" not in feed.inner_text()
        feed.locator("input[type=text]").fill("ann")
        feed.get_by_role("button", name="Show my classmates' posts").click()
        post = feed.locator(".coursekit-post").first
        post.wait_for()
        assert "thinks about" in post.inner_text() and "ann thinks" not in feed.inner_text()
        post.get_by_role("button", name="Like").click()
        post.locator("textarea").fill("Replying from the browser: which rule would you add?")
        post.get_by_role("button", name="Post reply").click()
        post.locator("text=Your reply").wait_for()
        page.get_by_text("Recorded your replies and likes: 1 reply, 1 like").wait_for()
        save(page)
        feed.screenshot(path=str(ARTIFACTS / "jupyterlab-week02-peers.png"))

    submitted = tmp_path / "week2" / "ann" / "week02.ipynb"
    submitted.parent.mkdir(parents=True)
    (course / "notebooks" / "week02-webers-reminders.ipynb").rename(submitted)
    report = collect(gather(tmp_path / "week2"), db)
    assert report.count("collected") == 1, report.results
    posts = open_log(db).posts(1)
    reply = posts[posts.kind == "reply"]
    assert list(reply.message) == ["Replying from the browser: which rule would you add?"]
    assert reply.iloc[0].author == "ann" and reply.iloc[0].parent_id in set(posts.post_id)
    assert posts.like_count.sum() == 1
    assert posts.set_index("post_id").loc[reply.iloc[0].parent_id, "author"] != "ann"


@pytest.mark.timeout(300)
def test_image_pasted_into_a_reflection_reaches_the_published_page(tmp_path, reading):
    """A student pastes a screenshot into a reflection cell (Ctrl+V), saves; collect and publish show it."""
    course = course_copy(ROOT, tmp_path / "course", [NOTEBOOK])
    screenshot = png((37, 23), (10, 160, 90))
    with jupyterlab(course / "notebooks", tmp_path, TOKEN) as base, chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 1000}, permissions=CLIPBOARD)
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={TOKEN}")
        page.wait_for_selector(".jp-Notebook .jp-MarkdownCell")
        placeholder = page.locator(".jp-MarkdownCell", has_text="Write your reflection here").first
        placeholder.scroll_into_view_if_needed()
        cell = placeholder.element_handle()  # this cell, even once its placeholder text is gone
        cell.dblclick()
        cell.wait_for_selector(".cm-content").click()
        page.keyboard.press("Control+a")
        page.keyboard.type("My screenshot of the talk page:")
        page.keyboard.press("Enter")
        page.evaluate(  # the student copied a screenshot: put a PNG on the real clipboard ...
            """async b64 => {
                const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
                const blob = new Blob([bytes], {type: 'image/png'});
                await navigator.clipboard.write([new ClipboardItem({'image/png': blob})]);
            }""",
            base64.b64encode(screenshot).decode(),
        )
        page.keyboard.press("Control+v")  # ... and pastes it into the cell
        cell.wait_for_selector(".cm-content >> text=(attachment:")
        page.keyboard.press("Shift+Enter")
        cell.wait_for_selector(".jp-RenderedMarkdown img")
        save(page)
        page.screenshot(path=str(ARTIFACTS / "jupyterlab-pasted-image.png"))

        saved = json.loads((course / "notebooks" / NOTEBOOK).read_text())
        pasted = next(c for c in saved["cells"] if c.get("attachments"))
        assert "My screenshot" in "".join(pasted["source"]) and "(attachment:" in "".join(pasted["source"])

        submissions = tmp_path / "submissions"
        (submissions / "ann").mkdir(parents=True)
        (course / "notebooks" / NOTEBOOK).rename(submissions / "ann" / NOTEBOOK)
        report = collect(gather(submissions), tmp_path / "log.db")
        assert report.count("collected") == 1, report.results
        result = CliRunner().invoke(
            main, ["publish", "--db", str(tmp_path / "log.db"), "--out", str(tmp_path / "site"), "--names", "real"]
        )
        assert result.exit_code == 0, result.output

        violations: list[str] = []
        site = context.new_page()
        site.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        site.goto((tmp_path / "site" / "week01.html").as_uri())
        image = site.locator(".post img").first
        image.wait_for()
        assert image.get_attribute("src").startswith("data:image/png;base64,")
        assert site.evaluate("img => [img.complete, img.naturalWidth, img.naturalHeight]", image.element_handle()) == [
            True,
            37,
            23,
        ]
        assert violations == []
        site.screenshot(path=str(ARTIFACTS / "site-pasted-image.png"))


def add_eight_words(page) -> None:
    """Type eight words under the first reflection's placeholder; its word count follows as they are typed."""
    cell = page.locator(".jp-MarkdownCell", has_text="Write your reflection here").first
    cell.scroll_into_view_if_needed()
    cell.dblclick()
    cell.locator(".cm-content").click()
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    page.keyboard.type("Rules protect the weak when moderators forget them")
    page.wait_for_function("() => document.querySelector('.coursekit-words').textContent.startsWith('8 of at least')")


def active_is_inside(page, selector: str) -> bool:
    return page.evaluate("s => !!document.activeElement.closest(s)", selector)


@pytest.mark.timeout(420)
def test_keyboard_only_word_count_reopen_and_accessibility(tmp_path, reading):
    """Week 2 with the keyboard alone: quiz and sorter answered, keys kept from the notebook's shortcuts."""
    notebook = "week02-webers-reminders.ipynb"
    course = course_copy(ROOT, tmp_path / "course", [notebook])
    item = next(i for i in reading.quiz_for(2) if i.kind != "multiple")
    number = reading.quiz_for(2).index(item) + 1
    correct = next(iter(item.correct))
    sorter = reading.sorter("w2-authority")
    categories = [c.id for c in sorter.categories]
    prompt = reading.prompts_for(2)[0]

    with jupyterlab(course / "notebooks", tmp_path, TOKEN) as base, chromium() as browser:
        page = open_notebook(browser, base, notebook)
        # First view, before running: a short instruction in proportional type, no internal ids, no news.
        fallback = page.locator(".coursekit-fallback").first
        fallback.wait_for()
        assert fallback.inner_text().startswith("Run ▸ Run All Cells to use this activity.")
        assert "mono" not in fallback.evaluate("e => getComputedStyle(e).fontFamily").lower()
        shown = " ".join(page.locator(".jp-OutputArea-output, .jp-RenderedMarkdown").all_inner_texts())
        assert sorter.id not in shown and prompt.id not in shown and "w2-quiz" not in shown

        run_all(page)
        question = page.locator(".coursekit-quiz-question").nth(number - 1)
        group = page.get_by_role("radiogroup", name=f"Question {number}: {item.question}")
        group.wait_for()
        page.wait_for_selector("text=Python 3 (ipykernel) | Idle")

        # The quiz, keyboard only: Space chooses, arrows move the choice, one Tab reaches Check.
        radios = question.locator("input[type=radio]")
        radios.first.focus()
        page.keyboard.press("Space")
        for _ in range(correct):
            page.keyboard.press("ArrowDown")
        assert radios.nth(correct).is_checked() and active_is_inside(page, ".coursekit-quiz-question")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Check"  # one Tab stop per group
        page.keyboard.press("Enter")
        question.locator("text=Correct.").wait_for()

        # The sorter, keyboard only: arrows choose a category in each dropdown, Tab to the next, Enter checks.
        box = page.locator(".coursekit-sorter")
        assert box.locator("select").first.evaluate("s => s.options[s.selectedIndex].text") == "Choose…"
        box.locator("select").first.focus()
        for n, case in enumerate(sorter.cases, 1):
            assert page.get_by_role("combobox", name=f"Case {n}: {case.text}").count() == 1
            for step in range(1, categories.index(case.answer) + 2):
                page.keyboard.press("ArrowDown")  # at a reader's pace: each choice reaches the kernel
                page.wait_for_function("i => document.activeElement.selectedIndex === i", arg=step)
                page.wait_for_timeout(150)
            page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Check"
        page.keyboard.press("Enter")
        total = len(sorter.cases)
        box.get_by_text("placed as we would").wait_for()
        assert f"{total} of {total} placed as we would" in box.inner_text()
        assert page.locator(".jp-Notebook .jp-Cell.jp-mod-active .coursekit-sorter").count() == 1  # never left

        # The live word count follows typing in the reflection cell before anything is run.
        count = page.locator(".coursekit-words").first
        assert count.inner_text() == f"0 of at least {prompt.min_words} words: {prompt.min_words} to go"
        add_eight_words(page)
        page.keyboard.press("Shift+Enter")  # rendered: the placeholder line is still not counted
        page.wait_for_selector(".jp-MarkdownCell.jp-mod-rendered .jp-RenderedMarkdown >> text=Rules protect the weak")
        assert count.inner_text().startswith("8 of at least")

        violations = serious_violations(page, {"include": [[".coursekit-activity"], [".coursekit-words"]]})
        assert violations == [], violations
        assert page.get_by_text("Jupyter news").count() == 0  # a minute in: no news pop-up over the notebook
        save(page)
        page.screenshot(path=str(ARTIFACTS / "jupyterlab-week02-keyboard.png"))

    # Reopened before anything is run (a new server, a fresh kernel): saved widgets show, no errors.
    with jupyterlab(course / "notebooks", tmp_path, TOKEN) as base, chromium() as browser:
        page = open_notebook(browser, base, notebook)
        page.locator(".coursekit-quiz").wait_for()
        page.locator(".coursekit-sorter").wait_for()
        assert page.get_by_text("Error displaying widget").count() == 0
        assert (
            page.locator(".coursekit-quiz-question")
            .nth(number - 1)
            .locator("input[type=radio]")
            .nth(correct)
            .is_checked()
        )
        page.screenshot(path=str(ARTIFACTS / "jupyterlab-week02-reopened.png"))

    saved = json.loads((course / "notebooks" / notebook).read_text())
    texts = {c["metadata"].get("coursekit", {}).get("prompt_id"): "".join(c["source"]) for c in saved["cells"]}
    assert "Rules protect the weak" in texts[prompt.id]


def disabled_state(page) -> dict:
    """What a reopened, not yet run notebook offers: banners, controls still usable, broken-link icons shown."""
    return page.evaluate(
        """() => {
            const activities = [...document.querySelectorAll('.coursekit-activity')];
            const controls = activities.flatMap(a => [...a.querySelectorAll('input, button, select, textarea')]);
            return {
                activities: activities.length,
                banners: activities.filter(a => a.querySelector(':scope > .coursekit-run-first')).length,
                controls: controls.length,
                usable: controls.filter(c => !c.disabled).length,
                icons: [...document.querySelectorAll('.jupyter-widgets-disconnected')]
                    .filter(e => getComputedStyle(e, '::before').display !== 'none').length,
            };
        }"""
    )


@pytest.mark.timeout(600)
def test_reopened_notebook_says_to_run_it_and_records_nothing_until_run(tmp_path, reading):
    """Saved after a run, reopened on a fresh kernel and not run: every activity says to run it, none takes input.

    ipywidgets shows such widgets from the saved state with no kernel behind them: a tick there looks
    recorded but never is. After Run All Cells they work again and what the student does is recorded.
    """
    course = course_copy(ROOT, tmp_path / "course", [NOTEBOOK])
    saved = course / "notebooks" / NOTEBOOK
    first, second = reading.quiz_for(1)[:2]
    correct = next(iter(first.correct))
    with jupyterlab(course / "notebooks", tmp_path, TOKEN) as base, chromium() as browser:
        page = open_and_run_all(browser, base, NOTEBOOK)
        answer_first_question(page, correct)
        page.get_by_text("Recorded your self-check: 1 of 4 correct (1 answered)").wait_for()
        assert disabled_state(page)["banners"] == 0  # a live activity has no banner
        save(page)

    with jupyterlab(course / "notebooks", tmp_path, TOKEN) as base, chromium() as browser:
        page = open_notebook(browser, base, NOTEBOOK)
        page.locator(".coursekit-quiz .coursekit-run-first").wait_for()
        state = disabled_state(page)
        assert state["activities"] == 7 and state["controls"] > 30, state
        assert state == {**state, "banners": 7, "usable": 0, "icons": 0}
        banner = page.locator(".coursekit-quiz .coursekit-run-first")
        assert banner.inner_text().startswith("Run ▸ Run All Cells to use this activity.")
        assert "nothing you change here is checked or recorded" in banner.inner_text()
        assert page.locator(".coursekit-stance .noUi-handle").get_attribute("aria-disabled") == "true"
        quiz = page.locator(".coursekit-quiz-question")
        assert quiz.first.locator("input[type=radio]").nth(correct).is_checked()  # what was saved still shows
        tick = quiz.nth(1).locator("input[type=checkbox]").first
        tick.click(force=True)
        assert not tick.is_checked()
        page.locator(".coursekit-quiz").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "jupyterlab-week01-reopened-not-run.png"))

        # The word count needs no kernel: it follows typing before the notebook is run.
        add_eight_words(page)
        page.keyboard.press("Shift+Enter")

        run_all(page)
        page.wait_for_function(
            """() => document.querySelectorAll('.coursekit-activity').length === 7
                && !document.querySelector('.coursekit-run-first, .jupyter-widgets-disconnected')"""
        )
        page.wait_for_selector("text=Python 3 (ipykernel) | Idle")
        assert disabled_state(page)["usable"] == disabled_state(page)["controls"] - 3  # Try again, where unanswered
        question = page.locator(".coursekit-quiz-question").nth(1)
        question.locator("input[type=checkbox]").first.check()
        question.get_by_role("button", name="Check").click()
        page.get_by_text("Recorded your self-check: 1 of 4 correct (2 answered)").wait_for()
        save(page)

    recorded = answers.saved_answers(saved)["w1-quiz"]
    assert [item["id"] for item in recorded["items"]] == [first.id, second.id]


WEEK4 = "week04-saving-grace-or-tool-of-destruction.ipynb"


@pytest.fixture(scope="module")
def week4(tmp_path_factory):
    """Week 4 (the stance again and the sample feed) run in JupyterLab, for the tests that follow."""
    work = tmp_path_factory.mktemp("week4")
    course = course_copy(ROOT, work / "course", [WEEK4])
    with jupyterlab(course / "notebooks", work, TOKEN) as base, chromium() as browser:
        page = open_and_run_all(browser, base, WEEK4)
        page.locator(".coursekit-peers").wait_for()
        page.wait_for_selector("text=Python 3 (ipykernel) | Idle")
        yield page


@pytest.mark.timeout(300)
def test_stance_slider_by_keyboard_and_screen_reader(week4, reading):
    """The handle is announced by its step's label; the next Tab reaches the reason box, whose text is recorded."""
    page = week4
    labels = reading.stance("saving-grace").labels
    stance = page.locator(".coursekit-stance")
    handle = stance.locator(".noUi-handle")
    handle.scroll_into_view_if_needed()
    assert handle.get_attribute("aria-valuetext") == labels[len(labels) // 2]
    assert stance.locator("[contenteditable=true]:visible").count() == 0  # no editable readout in the tab order
    handle.focus()
    page.keyboard.press("ArrowRight")
    stance.get_by_text(f"Recorded: {labels[len(labels) // 2 + 1]}").wait_for()
    assert handle.get_attribute("aria-valuetext") == labels[len(labels) // 2 + 1]
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.placeholder") == "Optional: one line on why"
    page.keyboard.type("Misinformation spreads through the same open doors")
    page.keyboard.press("Enter")
    page.get_by_text(f"Recorded your stance: {labels[len(labels) // 2 + 1]} ").wait_for()
    page.get_by_text('"Misinformation spreads through the same open doors"').wait_for()


@pytest.mark.timeout(300)
def test_peer_feed_has_headings_and_likes_say_whether_pressed(week4):
    """Posts are headings (replies one level down); each Like is a toggle whose pressed state is announced."""
    page = week4
    feed = page.locator(".coursekit-peers")
    feed.scroll_into_view_if_needed()
    feed.get_by_role("textbox", name="Student ID").fill("ann")
    feed.get_by_role("button", name="Show my classmates' posts").click()
    feed.locator(".coursekit-post").first.wait_for()
    posts = feed.locator(".coursekit-post")
    assert feed.get_by_role("heading", level=5).count() == posts.count() > 0
    assert feed.get_by_role("heading", level=6).count() == feed.locator(".coursekit-entry").count() - posts.count()
    likes = feed.get_by_role("button", name="Like")
    assert likes.count() > 0
    assert likes.evaluate_all("bs => bs.map(b => b.getAttribute('aria-pressed'))") == ["false"] * likes.count()
    likes.first.click()
    feed.get_by_role("button", name="Like", pressed=True).wait_for()
    assert feed.get_by_role("button", name="Like", pressed=True).count() == 1
    likes.first.click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.coursekit-peers .widget-toggle-button')]"
        ".every(b => b.getAttribute('aria-pressed') === 'false')"
    )
