"""Build the weekly student notebooks from a reading's data files.

Notebooks are generated, not hand-edited, so the readings data stays the one place content lives
and every week has the same shape. Cell ids are derived from the position so that a rebuild
without content changes gives the same file.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

from coursekit.course.reading import Activity, Reading, Week
from coursekit.notebook.cells import COURSE_TAG, NAMESPACE, SCHEMA_VERSION, prompt_cell, reflection_cell

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def notebook_name(week: int, slug: str) -> str:
    return f"week{week:02d}-{slug}"


def _markdown(source: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def _code(source: str) -> dict:
    return {"cell_type": "code", "metadata": {}, "source": source, "outputs": [], "execution_count": None}


def _course_cell(cell: dict) -> dict:
    """Tag a generated cell that may follow a reflection, so it is not taken for a student's own cell."""
    cell["metadata"]["tags"] = [COURSE_TAG]
    return cell


def _sources_note(keys: tuple[str, ...]) -> str:
    return f"\n\n<small>Sources: {', '.join(f'[{k}]' for k in keys)}</small>" if keys else ""


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def time_plan(info: Week, prompts: int) -> str:
    """The week's time plan as one line of Markdown ("" when the reading gives none)."""
    if not info.time:
        return ""
    labels = {
        "sections": "the sections and their exercises",
        "self-check": "the self-check",
        "reflections": _count(prompts, "reflection", "reflections"),
        "replies": _count(info.replies, "reply", "replies") + " to classmates in the feed",
    }
    parts = ", ".join(f"{labels[part]} {minutes} min" for part, minutes in info.time)
    return f"**Time plan, about {info.minutes} minutes:** {parts}."


def replies_note(info: Week) -> str:
    """What the feed asks of the student this week, with the time it takes ("" when no replies are expected)."""
    if not info.replies:
        return ""
    minutes = dict(info.time).get("replies")
    return (
        f" This week, write **{_count(info.replies, 'reply', 'replies')}** here (about {minutes} minutes, "
        "counted in the time plan at the top); they count toward the week's participation points."
    )


def activity_code(activity: Activity) -> str:
    """The code cell that shows a section's widget, built from the readings data at run time."""
    if activity.kind == "cards":
        names = ", ".join(json.dumps(ref, ensure_ascii=False) for ref in activity.refs)
        return f"widgets.ConceptCards(reading.terms({names}))"
    if activity.kind == "stance":
        return f"widgets.StanceSlider(reading.stance({json.dumps(activity.refs[0])}))"
    return f"widgets.CaseSorter(reading.sorter({json.dumps(activity.refs[0])}))"


def week_cells(reading: Reading, week: int) -> list[dict]:
    """The cells of one week's notebook, in teaching order."""
    info = reading.week(week)
    citation = reading.citation
    plan = time_plan(info, len(reading.prompts_for(week)))
    cells = [
        _markdown(
            f"# Week {week}: {info.title}\n\n{info.intro.strip()}\n\n"
            + (f"{plan}\n\n" if plan else "")
            + f"**Reading:** {citation.apa}\n\n"
            "**How to work here:** run the cells from the top (*Run ▸ Run All Cells*), use the widgets, "
            "and write your reflections in the cells marked `coursekit-reflection` below each prompt. "
            "Save the notebook and upload this one `.ipynb` file."
        ),
        _code(
            "from coursekit.course.reading import find_reading\n"
            # Week 1 has no peer feed, so it imports no feed (an unused import would fail ruff on the notebook).
            + ("from coursekit.discussion.feed import find_feed\n" if week > 1 else "")
            + "from coursekit.notebook import widgets\n\n"
            f'reading = find_reading("{reading.id}")'
        ),
    ]
    used_sources: list[str] = []
    for section in reading.sections_for(week):
        cells.append(_markdown(f"## {section.title}\n\n{section.summary.strip()}{_sources_note(section.sources)}"))
        used_sources += [s for s in section.sources if s not in used_sources]
        if section.activity:
            cells.append(_code(activity_code(section.activity)))
    if reading.quiz_for(week):
        cells.append(
            _markdown("## Self-check\n\nChoose an answer, press **Check**, and read why each choice is right or wrong.")
        )
        cells.append(
            _code(f'widgets.Quiz(reading.quiz_for({week}), title="Week {week} self-check", answer_id="w{week}-quiz")')
        )
        for item in reading.quiz_for(week):
            used_sources += [s for s in item.sources if s not in used_sources]
    if week > 1:
        cells.append(
            _markdown(
                "## Respond to classmates\n\nRead the week "
                f"{week - 1} reflections of the classmates assigned to you, like the ones that taught you "
                "something, and reply as you would under a class blog post."
                f"{replies_note(info)} Type your student ID to begin."
            )
        )
        cells.append(_code(f'widgets.PeerFeed(find_feed({week - 1}, reading), answer_id="w{week}-peers")'))
    prompts = reading.prompts_for(week)
    if prompts:
        cells.append(
            _markdown(
                "## Reflections\n\nAnswer each prompt in the cell right below it, in your own words. "
                "Reflections are collected into the class discussion log."
            )
        )
        for number, prompt in enumerate(prompts, 1):
            cells.append(prompt_cell(prompt.id, prompt.text.strip(), prompt.min_words, number))
            cells.append(reflection_cell(prompt.id))
            cells.append(_course_cell(_code(f"widgets.WordCount(reading.prompt({json.dumps(prompt.id)}))")))
    source_lines = "\n".join(f"- **[{k}]** {reading.sources[k]}" for k in used_sources if k in reading.sources)
    cells.append(_course_cell(_markdown(f"## Citation and sources\n\n{citation.apa}\n\n{source_lines}".rstrip())))
    for index, cell in enumerate(cells):
        cell["id"] = f"w{week:02d}-c{index:02d}"
    return cells


def week_notebook(reading: Reading, week: int) -> nbformat.NotebookNode:
    """A validated nbformat notebook for one week, with coursekit notebook metadata."""
    info = reading.week(week)
    notebook = nbformat.from_dict(
        {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {
                "kernelspec": KERNELSPEC,
                "language_info": {"name": "python"},
                NAMESPACE: {
                    "schema_version": SCHEMA_VERSION,
                    "reading": reading.id,
                    "week": week,
                    "notebook": notebook_name(week, info.slug),
                    "prompt_ids": [p.id for p in reading.prompts_for(week)],
                },
            },
            "cells": week_cells(reading, week),
        }
    )
    nbformat.validate(notebook)
    return notebook


def execute(notebook: nbformat.NotebookNode, folder: Path, timeout: int = 120) -> nbformat.NotebookNode:
    """Run a notebook top to bottom in a fresh kernel with ``folder`` as its working directory."""
    from nbclient import NotebookClient

    NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    return notebook


def build_week(reading: Reading, week: int, out_dir: str | Path, run: bool = True) -> Path:
    """Write ``out_dir/weekNN-slug.ipynb``, executed so that it is committed with outputs."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    notebook = week_notebook(reading, week)
    if run:
        execute(notebook, out)
    path = out / f"{notebook.metadata[NAMESPACE]['notebook']}.ipynb"
    nbformat.write(notebook, path)
    return path


def review_notebook() -> nbformat.NotebookNode:
    """The instructor's review notebook: the review desk over the course's discussion log."""
    cells = [
        _markdown(
            "# Review reflections\n\n"
            "The desk below reads the class discussion log named in `course.toml` (the course folder's "
            "settings; see `docs/course-settings.md`). Collect first: `coursekit collect submissions/` in the "
            "course folder. "
            "Until a log exists it shows a **demo course** of generated students, so you can try it.\n\n"
            "- **Filter** by week, prompt, section, status (unreviewed, reviewed, flagged), lateness, student "
            "or words in the text.\n"
            "- Read one reflection at a time with its replies and the student's saved widget answers; "
            "**Previous** and **Next** move through the matches.\n"
            "- **Scores, comment and flag are saved to the log the moment you enter them** (the comment when you "
            "leave its box); a dead kernel loses nothing. Reviews are never overwritten: if a colleague saved a "
            "review of the same reflection while you had it open, the desk says so and both are kept.\n"
            "- **Reviewer**: reviews are saved under your JupyterHub user, shown by the name `[staff]` in "
            "`course.toml` gives it; on a machine where everyone shares one login (`root`, `jovyan`) type your "
            "name in **Reviewer** first. Feedback pages and each reflection's review history say who reviewed."
        ),
        _code(
            "from coursekit.api import Course\n\n"
            "desk = Course.open().desk()  # reviewer: your JupyterHub user, else the name you type in Reviewer\ndesk"
        ),
        _markdown(
            "## Participation analytics\n\nSubmissions per week (on time and late), reflection length, the glossary "
            "concepts the class used and missed, stance in week 1 against week 4, and who replies to whom. The same "
            "report, with its tables (share of replies from the most active 10 percent, Gini coefficient), is "
            "written by `coursekit report --out report/`."
        ),
        _code(  # the plots with their alt texts: an image output has none in JupyterLab
            "import tempfile\n\n"
            "from coursekit.review.report import draw_report\n\n"
            "draw_report(desk.discussion, desk.settings, desk.reading, "
            'tempfile.mkdtemp(prefix="coursekit-report-"))'
        ),
    ]
    cells[-1]["metadata"]["tags"] = ["nbval-ignore-output"]  # depends on the class's data
    for index, cell in enumerate(cells):
        cell["id"] = f"review-c{index:02d}"
    notebook = nbformat.from_dict(
        {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}},
            "cells": cells,
        }
    )
    nbformat.validate(notebook)
    return notebook


def build_review(out_dir: str | Path, run: bool = True) -> Path:
    """Write ``out_dir/instructor/review.ipynb``, executed (on the demo course) so it has outputs."""
    folder = Path(out_dir) / "instructor"
    folder.mkdir(parents=True, exist_ok=True)
    notebook = review_notebook()
    if run:
        execute(notebook, folder)
    path = folder / "review.ipynb"
    nbformat.write(notebook, path)
    return path
