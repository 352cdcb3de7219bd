"""The participation report: one static HTML page with plots, for instructors (it shows real names).

``write_report`` reads the log, computes the figures with ``coursekit.review.analytics`` and writes
``index.html`` (``templates/report.html``, through ``discussion.pages``: all text escaped) and PNG
plots into one folder that opens without a server, a CDN or any script. The page's
Content-Security-Policy allows only its own style (by hash) and images from its own folder.
``draw_report`` does the same and also returns the plots with their alt texts, which the review
notebook shows (``templates/plots.html``; an image output in JupyterLab has no alt text).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch
from matplotlib.ticker import MaxNLocator

from coursekit.course.reading import Reading, Stance
from coursekit.course.settings import Settings
from coursekit.discussion.images import data_uri
from coursekit.discussion.pages import render
from coursekit.log.frames import DiscussionLog
from coursekit.review import TEMPLATES, analytics

ON_TIME, LATE, MUTED, INK = "#2857a4", "#e08a1e", "#9aa3b2", "#1d2433"  # blue/orange: safe for colour blindness
PLOTS = {
    "submissions": "submissions.png",
    "words": "words.png",
    "concepts": "concepts.png",
    "replies": "replies.png",
}


@contextlib.contextmanager
def _figure(path: Path, size: tuple[float, float]) -> Iterator[tuple]:
    """A figure saved to ``path``, drawn without pyplot.

    A bare ``Figure`` renders to a file through Agg on its own: no ``matplotlib.use`` that would switch
    the backend of an instructor's kernel, and nothing registered in pyplot, so nothing leaks.
    """
    fig = Figure(figsize=size, layout="constrained")
    ax = fig.subplots()
    yield fig, ax
    fig.savefig(path, dpi=110)


def _percent(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.0%}"


def _number(value: float, signed: bool = False) -> str:
    return "n/a" if math.isnan(value) else f"{value:+.2f}" if signed else f"{value:.2f}"


def _steps(shift: float, steps: int) -> str:
    return "n/a" if math.isnan(shift) else f"{shift:+.2f} steps (scale of {steps})"


def _plot_submissions(table: pd.DataFrame, path: Path) -> str:
    with _figure(path, (7, 3.6)) as (_, ax):
        labels = [f"Week {w}" for w in table.index]
        on_time = ax.bar(labels, table["on_time"], color=ON_TIME, label="on time")
        late = ax.bar(labels, table["late"], bottom=table["on_time"], color=LATE, label="late")
        ax.bar_label(on_time, label_type="center", color="white")
        ax.bar_label(late, labels=[str(n) if n else "" for n in table["late"]], label_type="center")
        ax.set_ylabel("notebooks submitted")
        ax.set_title("Submissions per week")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=2, frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
    weeks = "; ".join(f"week {w}: {r.on_time} on time, {r.late} late" for w, r in table.iterrows())
    return f"Stacked bar chart of notebooks submitted per week, on time and late. {weeks or 'No submissions yet'}."


def _plot_words(counts: analytics.WordCounts, path: Path) -> str:
    with _figure(path, (7, 3.6)) as (_, ax):
        if counts.written:
            ax.hist(counts.words, bins=min(30, max(5, counts.written // 10)), color=ON_TIME, edgecolor="white")
            ax.axvline(counts.median, color=INK, linestyle="--", linewidth=1)
            ax.annotate(f" median {counts.median:g}", (counts.median, 0.95), xycoords=("data", "axes fraction"))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("words in a reflection")
        ax.set_ylabel("reflections")
        ax.set_title(f"Reflection length ({counts.written} written; {counts.blanks} blank, not shown)")
        ax.spines[["top", "right"]].set_visible(False)
    if not counts.written:
        return "Histogram of reflection lengths: no reflection has been written yet."
    return (
        f"Histogram of words per reflection for {counts.written} written reflections: from {counts.words.min()} "
        f"to {counts.words.max()} words, median {counts.median:g}. {counts.blanks} blank reflections are not shown."
    )


def _plot_concepts(concepts: analytics.ConceptUsage, path: Path) -> str:
    usage = concepts.usage.sort_values("reflections", kind="stable")
    with _figure(path, (7, 1.2 + 0.3 * max(1, len(usage)))) as (_, ax):
        colors = [MUTED if n == 0 else ON_TIME for n in usage["reflections"]]
        bars = ax.barh(usage["term"], usage["reflections"], color=colors)
        ax.bar_label(bars, labels=[str(n) if n else " not used" for n in usage["reflections"]], padding=3)
        ax.set_xlabel("reflections that mention the term")
        ax.set_title("Glossary concepts used in reflections")
        ax.spines[["top", "right"]].set_visible(False)
    most = ", ".join(f"{r.term} ({r.reflections})" for r in usage.iloc[::-1].head(3).itertuples() if r.reflections)
    missed = f"Not used: {', '.join(concepts.missed)}." if concepts.missed else "Every term was used."
    return f"Bar chart of how many reflections mention each glossary term. Most used: {most or 'none'}. {missed}"


def _plot_stance(stance: Stance, shifts: pd.DataFrame, first: int, last: int, path: Path) -> str:
    steps = int(shifts["steps"].max()) if len(shifts) else stance.steps
    with _figure(path, (7, 4.8)) as (fig, ax):
        pairs = shifts.groupby(["first", "last"]).size()
        for (start, end), count in pairs.items():
            color = MUTED if start == end else LATE if end > start else ON_TIME
            ax.plot([0, 1], [start, end], color=color, linewidth=1 + 1.5 * count, alpha=0.6, solid_capstyle="round")
        for x, column in ((0, "first"), (1, "last")):
            at = shifts[column].value_counts()
            ax.scatter([x] * len(at), at.index, s=30 + 25 * at.to_numpy(), color=INK, zorder=3)
        if len(shifts):
            means = shifts["first"].mean(), shifts["last"].mean()
            ax.plot([0, 1], means, color=INK, linewidth=3, linestyle="--", marker="D", zorder=4)
            legend = [
                Line2D([], [], color=LATE, linewidth=3, label=f"towards {stance.right}"),
                Line2D([], [], color=ON_TIME, linewidth=3, label=f"towards {stance.left}"),
                Line2D([], [], color=MUTED, linewidth=3, label="no change"),
                Line2D([], [], color=INK, linewidth=3, linestyle="--", marker="D", label="class mean"),
            ]
            fig.legend(handles=legend, loc="outside lower center", ncols=2, frameon=False)
        else:
            ax.text(0.5, (steps - 1) / 2, "Nobody answered in both weeks yet", ha="center")
        ticks = [f"{i + 1}" for i in range(steps)]
        ticks[0], ticks[-1] = f"1 {stance.left}", f"{steps} {stance.right}"
        ax.set_yticks(range(steps), ticks)
        ax.set_ylim(-0.5, steps - 0.5)
        ax.set_xticks([0, 1], [f"Week {first}", f"Week {last}"])
        ax.set_xlim(-0.3, 1.3)
        ax.set_title(f"Stance, week {first} and week {last} ({len(shifts)} students; thicker = more students)")
        ax.spines[["top", "right", "bottom"]].set_visible(False)
    moved = int((shifts["shift"] != 0).sum())
    return (
        f"Slopegraph of each student's position on the scale from {stance.left} (1) to {stance.right} ({steps}) "
        f"in week {first} and week {last}, for {len(shifts)} students who answered both times: {moved} moved, "
        f"mean shift {_number(analytics.mean_shift(shifts), signed=True)} steps. Orange lines move towards "
        f"{stance.right}, blue towards {stance.left}, grey stay."
    )


def _plot_replies(edges: pd.DataFrame, people: pd.DataFrame, path: Path) -> str:
    students = list(people.index)
    angles = np.linspace(np.pi / 2, np.pi / 2 - 2 * np.pi, len(students), endpoint=False)
    where = {s: (math.cos(a), math.sin(a)) for s, a in zip(students, angles, strict=True)}
    others = edges[edges["from"] != edges["to"]]
    with _figure(path, (8, 8)) as (_, ax):
        heaviest = int(others["count"].max()) if len(others) else 1
        for edge in others.itertuples(index=False):
            ax.add_patch(
                FancyArrowPatch(
                    where[edge[0]],
                    where[edge[1]],
                    arrowstyle="-|>",
                    mutation_scale=9,
                    connectionstyle="arc3,rad=0.12",  # A→B and B→A stay apart
                    linewidth=0.6 + 1.8 * edge[2] / heaviest,
                    color=ON_TIME,
                    alpha=0.25 + 0.5 * edge[2] / heaviest,
                    shrinkA=6,
                    shrinkB=8,
                )
            )
        if students:
            xy = np.array([where[s] for s in students])
            ax.scatter(xy[:, 0], xy[:, 1], s=20 + 18 * people["replies_received"], color=LATE, zorder=3)
        for student, angle in zip(students, angles, strict=True):
            flip = math.cos(angle) < 0
            ax.text(
                1.1 * math.cos(angle),
                1.1 * math.sin(angle),
                student,
                rotation=math.degrees(angle) + (180 if flip else 0),
                rotation_mode="anchor",
                ha="right" if flip else "left",
                va="center",
                fontsize=8,
            )
        ax.set_xlim(-1.35, 1.35)
        ax.set_ylim(-1.3, 1.3)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title("Who replies to whom (arrow: replier → author; dot size: replies received)")
    total = int(others["count"].sum())
    busiest = ", ".join(f"{r[0]} → {r[1]} ({r[2]})" for r in others.head(3).itertuples(index=False))
    return (
        f"Network of replies among {len(students)} students drawn on a circle: {total} replies to classmates "
        f"in {len(others)} directed pairs; the thicker the arrow, the more replies."
        + (f" Most frequent: {busiest}." if busiest else "")
    )


@dataclass(frozen=True)
class Plot:
    """A plot of the report: its PNG file and the alt text, from the data, that says what it shows."""

    path: Path
    alt: str


@dataclass(frozen=True)
class Report:
    """A written report: its page and its plots in page order, shown with their alt texts in a notebook."""

    page: Path
    plots: tuple[Plot, ...]

    def _repr_mimebundle_(self, **kwargs) -> dict[str, str]:
        note = f"Full report with tables: {self.page}"
        shown = [{"src": data_uri("image/png", p.path.read_bytes()), "alt": p.alt} for p in self.plots]
        return {
            "text/plain": "\n\n".join([*(p.alt for p in self.plots), note]),
            "text/html": render("plots.html", TEMPLATES, plots=shown, note=note),
        }


@dataclass(frozen=True)
class Section:
    """A section of the report page: a heading, its plot, a caption under the plot and a note after it."""

    heading: str
    plot: Plot
    caption: str = ""
    note: str = ""


def write_report(log: DiscussionLog, settings: Settings, reading: Reading, out_dir: str | Path) -> Path:
    """Write ``out_dir/index.html`` and its PNG plots; return the page's path.

    Weeks and deadlines come from ``settings``; glossary terms and the stance scale from ``reading``.
    """
    return draw_report(log, settings, reading, out_dir).page


def draw_report(log: DiscussionLog, settings: Settings, reading: Reading, out_dir: str | Path) -> Report:
    """``write_report``, returning the page and its plots."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    submissions, reflections, posts = log.submissions(), log.reflections(), log.posts()
    weeks = [w.week for w in settings.weeks]
    per_week = analytics.submissions_per_week(submissions, settings, weeks)
    absent = analytics.absent_students(submissions, per_week.index)
    counts = analytics.word_counts(reflections)
    concepts = analytics.concept_usage(reflections, [t.term for t in reading.glossary])
    people = analytics.participation(posts, submissions["student"].unique())
    edges = analytics.reply_edges(posts)
    replies = people["replies_given"]
    repliers = int((replies > 0).sum())
    who = f"{analytics.top_group(repliers)} of {repliers}" if repliers else "nobody has replied yet"

    key = [
        ("Students who submitted anything", str(len(people))),
        ("Reflections written (blank)", f"{counts.written} ({counts.blanks})"),
        (
            f"Share of replies written by the most active 10% of repliers ({who})",
            _percent(analytics.top_share(replies)),
        ),
        (
            f"Gini coefficient of replies per student, over all {len(people)} (0: all equal; near 1: one does all)",
            _number(analytics.gini(replies)),
        ),
    ]
    sections: list[Section] = []

    def plot(name: str, alt: str) -> Plot:
        return Plot(out / name, alt)

    with rc_context({"text.parse_math": False}):  # a "$" in a student's name is text, not TeX
        alt = _plot_submissions(per_week, out / PLOTS["submissions"])
        late = f"Late: after the week's deadline in {settings.path.name}; a week without a deadline has none."
        sections.append(Section("Submissions", plot(PLOTS["submissions"], alt), caption=late))
        alt = _plot_words(counts, out / PLOTS["words"])
        sections.append(Section("Reflection length", plot(PLOTS["words"], alt)))
        alt = _plot_concepts(concepts, out / PLOTS["concepts"])
        missed = f"Not used by anyone: {', '.join(concepts.missed)}." if concepts.missed else "Every term was used."
        sections.append(Section("Glossary concepts", plot(PLOTS["concepts"], alt), note=missed))
        stances = [s for s in reading.stances if len(s.weeks) >= 2]  # asked twice: before and after
        answers = log.answers("stance") if stances else None
        for number, stance in enumerate(stances, start=1):
            first, last = stance.weeks[0], stance.weeks[-1]
            shifts = analytics.stance_shift(answers, first, last, stance.id)
            name = f"stance-{number}.png"
            alt = _plot_stance(stance, shifts, first, last, out / name)
            sections.append(Section(f"Stance: {stance.left} or {stance.right}", plot(name, alt)))
            key.append(
                (
                    f"Mean stance shift, week {first} → week {last} ({len(shifts)} students; + is towards "
                    f"{stance.right})",
                    _steps(analytics.mean_shift(shifts), stance.steps),
                )
            )
        alt = _plot_replies(edges, people, out / PLOTS["replies"])
        sections.append(Section("Replies", plot(PLOTS["replies"], alt)))  # the table of replies follows it
    for week in per_week.index:
        names = list(absent.loc[absent["week"] == week, "student"])
        key.append((f"Submitted nothing in week {week}", f"{len(names)}: {', '.join(names)}" if names else "0"))
    per_student = [(student, [int(v) for v in row]) for student, row in people.iterrows()]
    title = f"Participation report: {settings.name}"
    page = render("report.html", TEMPLATES, title=title, key=key, sections=sections, people=per_student)
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return Report(index, tuple(section.plot for section in sections))
