"""The instructor's review desk: filter reflections, read one at a time, score and comment.

A thin ipywidgets layer over ``coursekit.review.filters`` (the table and filters) and ``log.reviews.save_review``.
Every score, comment or flag is written to the log the moment it is entered, so a dead kernel
loses nothing; reviews are appended, never overwritten, and a review someone else saved while
this one was on screen is shown as a conflict. Each review is saved under its reviewer (see
``review.reviewers``): the Reviewer box shows who that is, and scoring waits until it names someone.
The desk takes the course's parts as they are (settings, reading, roster, log): ``coursekit.api.Course.desk()``
opens them, as for every command, and builds it.
"""

from __future__ import annotations

import getpass
import html
import os
import shutil
import tempfile
import threading
import weakref
from concurrent.futures import Future
from pathlib import Path

import ipywidgets as w
import numpy as np
import pandas as pd

from coursekit.course.reading import Reading
from coursekit.course.settings import Settings
from coursekit.discussion.render import safe_html
from coursekit.log import moderation
from coursekit.log.frames import DiscussionLog, open_log
from coursekit.log.reviews import ReviewDraft, save_review
from coursekit.notebook import answers as answer_format
from coursekit.notebook.frontend import Readable
from coursekit.review.desk_rows import DeskRows, all_rows, choices, first_rows
from coursekit.review.filters import STATUSES, Filters, Matcher, progress, progress_text, search_texts
from coursekit.review.reviewers import reviewer_login, reviewer_name, saved_as
from coursekit.review.search import TextIndex

ANY = "any"
PAGE = 50  # reflections whose text is read at once: the one on screen and the next ones Next will show
NONE_SAVED = "<li><i>none saved</i></li>"
NO_SCORE = -1  # the "Choose…" entry of a score selector (ipywidgets shows None as a blank)


def when(stamp) -> str:
    """A time as instructors read it: to the minute, no microseconds."""
    try:
        return pd.Timestamp(stamp).strftime("%Y-%m-%d %H:%M")
    except (ValueError, TypeError):
        return str(stamp)


class ReviewDesk(Readable, w.VBox):
    """Filters, one reflection with its replies and widget answers, rubric scores and a comment."""

    def __init__(
        self,
        log: DiscussionLog,
        settings: Settings,
        reading: Reading | None,
        reviewer: str,
        roster: pd.DataFrame | None = None,
        label: str = "",
    ):
        self.discussion, self.settings, self.reading = log, settings, reading
        self.reviewer, self.label = reviewer, label  # the login or name reviews are saved under ("": unknown)
        self.demo_folder: Path | None = None  # a demo desk's temporary class
        self._cleanup: weakref.finalize | None = None
        # Opened on the first page (read at once, whatever the class's size); every row is read in the
        # background and taken on at the first change that needs it (see _every_row).
        self._rows = first_rows(log, settings, reading, roster, PAGE)
        self._roster = roster
        self._history: dict[tuple, list] = {}  # made from the rows' reviews when first shown, then added to by save()
        self._on_screen: tuple[str | None, int | None] = (None, None)  # the post shown, the review it shows
        self._moderated: dict[str, moderation.State] = {}
        self._widgets: dict[tuple[str, str], str] = {}  # (student, notebook) -> its widget answers, as shown
        self._widgets_read = False  # True once every notebook's are in _widgets
        self.prompts = {p.id: p.text for p in reading.prompts} if reading else {}
        self._matches = np.arange(len(self._rows.table))  # positions in the rows' table
        self.position = 0
        self._progress = progress_text(self._rows.reviewed, self._rows.total)  # counted again when a review is saved
        self._loading = False

        def dropdown(description: str, values) -> w.Dropdown:
            """A filter: "any", then each value (a (label, value) pair shows the label)."""
            options = [(ANY, ANY), *(v if isinstance(v, tuple) else (str(v), v) for v in values)]
            return w.Dropdown(options=options, value=ANY, description=description, layout=w.Layout(width="14em"))

        offered = choices(log, reading, roster)
        self.week = dropdown("Week", offered.weeks)
        self.prompt = dropdown("Prompt", offered.prompts)
        self.section = dropdown("Section", offered.sections)
        self.status = dropdown("Status", STATUSES)
        self.late = dropdown("Late", ["late", "on time"])
        self.student = w.Text(description="Student", placeholder="part of a name", layout=w.Layout(width="14em"))
        self.search = w.Text(description="Search", placeholder="words in the text", layout=w.Layout(width="20em"))
        for control in (self.week, self.prompt, self.section, self.status, self.late, self.student, self.search):
            control.observe(lambda _: self.apply_filters(), names="value")

        self.summary = w.HTML()
        self.body = w.HTML()
        self.previous_button = w.Button(description="◀ Previous", tooltip="Previous reflection")
        self.next_button = w.Button(description="Next ▶", tooltip="Next reflection")
        self.previous_button.on_click(lambda _: self.go(-1))
        self.next_button.on_click(lambda _: self.go(1))
        # The label gets its own width and the selector enough room to show the chosen score beside it.
        self.scores = {
            c.id: w.Dropdown(
                options=[("Choose…", NO_SCORE), *[(str(p), p) for p in range(int(c.points) + 1)]],
                description=f"{c.label} (/{c.points:g})",
                style={"description_width": "22em"},
                layout=w.Layout(width="32em"),
            )
            for c in settings.rubric
        }
        self.comment = w.Textarea(
            placeholder="Feedback for the student (saved when you leave the box)",
            continuous_update=False,
            layout=w.Layout(width="95%", height="6em"),
        )
        self.flag = w.ToggleButton(description="Flag", icon="flag", tooltip="Flag for a second look")
        for control in (*self.scores.values(), self.comment, self.flag):
            control.observe(lambda _: self.save(), names="value")
        self.who = w.Combobox(
            value=self.display_name(reviewer) or "",
            options=sorted(settings.staff.values()),
            description="Reviewer",
            placeholder="your name (as students should see it)",
            ensure_option=False,
            continuous_update=False,
            layout=w.Layout(width="32em"),
        )
        self.who.observe(lambda change: self.set_reviewer(change["new"]), names="value")
        self.saved = w.HTML()
        self.history = w.HTML()
        # Moderation: hide a post or reply (with a reason, kept in the audit trail) or restore it.
        self.target = w.Dropdown(description="Moderate", layout=w.Layout(width="40em"))
        self.reason = w.Text(
            description="Reason", placeholder="why (kept in the audit trail)", layout=w.Layout(width="40em")
        )
        self.hide_button = w.Button(description="Hide", icon="eye-slash", tooltip="Hide from the site and the feed")
        self.restore_button = w.Button(description="Restore", icon="eye", tooltip="Show it again")
        self.hide_button.on_click(lambda _: self.moderate(moderation.hide))
        self.restore_button.on_click(lambda _: self.moderate(moderation.restore))
        self.moderation_note = w.HTML()
        filters = w.VBox(
            [
                w.HBox([self.week, self.prompt, self.section, self.status]),
                w.HBox([self.late, self.student, self.search]),
            ]
        )
        super().__init__(
            [
                w.HTML(f"<h3>Review reflections{html.escape(label)}</h3>"),
                self.who,
                filters,
                self.summary,
                w.HBox([self.previous_button, self.next_button]),
                self.body,
                w.VBox(list(self.scores.values())),
                self.comment,
                self.flag,
                self.saved,
                self.history,
                w.HBox([self.target, self.hide_button, self.restore_button]),
                self.reason,
                self.moderation_note,
            ]
        )
        self.add_class("coursekit-review")
        self.set_reviewer(self.who.value)
        self.show()
        self.read_in_background()

    def wait_until_read(self) -> None:
        """Wait until every row is read (the first change that needs them waits by itself)."""
        self._all.result()

    def wait_until_indexed(self) -> None:
        """Wait for Search's index too (Search waits by itself; a benchmark or a test may want to)."""
        self._index.result()

    def read_in_background(self) -> None:
        """Read every reflection's row, then every text for Search's index, in a background thread.

        The desk opens on its first page; a change made before every row is read waits for them, and a
        search typed before the index is ready waits for it, about as long as reading the texts takes.
        """
        every: Future[tuple[DeskRows, Matcher]] = Future()
        index: Future[TextIndex] = Future()
        self._all, self._index = every, index

        def work() -> None:
            try:
                rows = all_rows(self.discussion, self.settings, self.reading, self._roster)
                matcher = Matcher(rows.table, index.result)
                every.set_result((rows, matcher))
                texts = self.discussion.reflection_texts()
                made = TextIndex(search_texts(rows.table[["student", "name", "post_id"]], texts))
                matcher.prepare(made)  # and the other filters' codes, so no first change pays for them
                self._widgets.update(widget_items(self.discussion.answers()))  # and every widget answer
                self._widgets_read = True
                index.set_result(made)
            except BaseException as exc:  # told to whoever changes a filter (Future.result raises it)
                for future in (every, index):
                    if not future.done():
                        future.set_exception(exc)

        threading.Thread(target=work, name="coursekit-desk-rows", daemon=True).start()

    @property
    def matcher(self) -> Matcher:
        """The filters over every row."""
        self._every_row()
        return self._matcher

    def _every_row(self) -> DeskRows:
        """Every row, once read: the reflection on screen stays on screen, now as one of them.

        A failed read is tried again here, once per change, so a log that was out of reach for a
        moment does not stop the desk for good.
        """
        if not self._rows.complete:
            if not self._all.done():  # sent now, so the wait is seen for what it is
                self.summary.value = "<i>Reading every reflection of the class…</i>"
            try:
                rows, self._matcher = self._read_again_if_failed()
            except Exception as exc:
                self.summary.value = (
                    f"<b style='color:#a33'>The class's reflections could not be read: {html.escape(str(exc))}</b> "
                    "The desk can show only the reflection on screen; each change tries again."
                )
                raise
            page, table = self._rows.table, rows.table
            where = _places(page["post_id"].tolist(), table["post_id"])
            read = page["text"].notna().to_numpy() & (where >= 0)  # the texts already read stay read
            table.iloc[where[read], table.columns.get_loc("text")] = page["text"].to_numpy()[read]
            shown = where[self._matches[self.position]] if len(self._matches) else -1
            self._rows, self._matches = rows, np.arange(len(table))
            self._history.clear()  # made from the page's reviews: a colleague may have saved one since
            self.position = max(int(shown), 0)  # a reflection gone from the log: the first (save() checks)
        return self._rows

    def _read_again_if_failed(self) -> tuple[DeskRows, Matcher]:
        try:
            return self._all.result()
        except Exception:
            self.read_in_background()
            return self._all.result()

    # -- who is reviewing ---------------------------------------------------------------------------
    def display_name(self, saved: str) -> str | None:
        """A saved reviewer as people read it (the staff list's name); None for a shared machine login."""
        return reviewer_name(saved, self.settings.staff)

    def set_reviewer(self, typed: str) -> None:
        """Save reviews under ``typed`` (a staff name or login, or any name); scoring waits until there is one."""
        self.reviewer = saved_as(typed, self.settings.staff)
        for control in (*self.scores.values(), self.comment, self.flag):
            control.disabled = not self.reviewer
        if not self.reviewer:
            self.saved.value = (
                "<b>Type your name in Reviewer first.</b> This machine's login is shared (everyone here is the same "
                "user), so reviews would not say who wrote them; scoring starts once a name is there."
            )
        elif self.current is not None:
            self.show()

    # -- what is on screen ------------------------------------------------------------------------
    def filters(self) -> Filters:
        def chosen(control):
            return None if control.value == ANY else control.value

        late = chosen(self.late)
        return Filters(
            week=chosen(self.week),
            prompt=chosen(self.prompt),
            student=self.student.value,
            section=chosen(self.section),
            status=chosen(self.status),
            late=None if late is None else late == "late",
            text=self.search.value,
        )

    @property
    def table(self) -> pd.DataFrame:
        """Every reflection's row (the desk shows them through the filters)."""
        return self._every_row().table

    @property
    def matches(self) -> np.ndarray:
        """The positions in ``table`` of the rows the filters currently match."""
        self._every_row()
        return self._matches

    @property
    def current(self) -> pd.Series | None:
        """The reflection on screen."""
        return self._rows.table.iloc[self._matches[self.position]] if len(self._matches) else None

    @property
    def matched(self) -> pd.DataFrame:
        """The rows the filters currently match."""
        return self.table.iloc[self.matches]

    def apply_filters(self) -> None:
        self._every_row()
        if self.search.value.strip() and not self._index.done():
            self.summary.value = "<i>Indexing the reflections' texts for Search…</i>"
        self._matches = self._matcher.positions(self.filters())
        self.position = 0
        self.show()

    def go(self, step: int) -> None:
        if len(self.matches):
            self.position = (self.position + step) % len(self._matches)
        self.show()

    def _read_page(self) -> None:
        """Read the texts of the reflection on screen and of the next PAGE matches, where not read yet."""
        table = self._rows.table
        rows = self._matches[self.position : self.position + PAGE]
        rows = rows[table["text"].iloc[rows].isna().to_numpy()]
        if len(rows):
            post_ids = table["post_id"].iloc[rows].tolist()
            texts = self.discussion.reflection_texts(post_ids)
            table.iloc[rows, table.columns.get_loc("text")] = [texts.get(p, "") for p in post_ids]

    def show(self) -> None:
        self._read_page()
        row = self.current
        self._show_summary()
        self._loading = True
        try:
            self._on_screen = (None, None) if row is None else (row["post_id"], _review_id(row))
            if row is None:
                self.target.options = []
                self.body.value = "<p><i>No reflection matches these filters.</i></p>"
                for control in self.scores.values():
                    control.value = NO_SCORE
                self.comment.value, self.flag.value = "", False
                return
            self.body.value = self._reflection_html(row)
            for criterion, control in self.scores.items():
                control.value = row["scores"].get(criterion, NO_SCORE)
            self.comment.value = row["comment"]
            self.flag.value = row["status"] == "flagged"
            if self.reviewer:
                self.saved.value = (
                    f"<small>Last review by {self._who(row['reviewer'])} at {when(row['reviewed_at'])}</small>"
                    if row["status"] != "unreviewed"
                    else "<small>Not reviewed yet.</small>"
                )
            self.history.value = self._history_html(row)
        finally:
            self._loading = False

    def _who(self, saved: str) -> str:
        """A saved reviewer for the desk: the name, or the shared login marked as naming no one."""
        name = self.display_name(saved)
        return html.escape(name) if name else f"{html.escape(saved)} (a shared login: reviewer unknown)"

    def _history_html(self, row: pd.Series) -> str:
        """Every review of this reflection, oldest first: when, who, scores, flag and comment."""
        reviews = self._reviews_of(row)
        if not reviews:
            return ""
        items = "".join(
            f"<li>{when(r.created_at)} · {self._who(r.reviewer)} · "
            f"{html.escape(', '.join(f'{c} {v:g}' for c, v in r.scores.items()) or 'no scores')}"
            + (" · flagged" if r.flagged else "")
            + (f" · “{html.escape(r.comment)}”" if r.comment else "")
            + "</li>"
            for r in reviews
        )
        return f"<details><summary>Review history ({len(reviews)})</summary><ul>{items}</ul></details>"

    def _reviews_of(self, row: pd.Series) -> list:
        """Every review of this reflection, oldest first (the log's, then those saved here)."""
        key = (row["student"], row["notebook"], row["prompt_id"])
        if key not in self._history:
            positions = self._rows.review_rows.get(key)
            self._history[key] = [] if positions is None else list(self._rows.reviews.iloc[positions].itertuples())
        return self._history[key]

    def _reflection_html(self, row: pd.Series) -> str:
        late = " · <b style='color:#a33'>late</b>" if row["late"] else ""
        words = f"{row['word_count']} words" + (f" (minimum {row['min_words']})" if row["min_words"] else "")
        thread = self._rows.replies.iloc[slice(*self._rows.threads.get(row["post_id"], (0, 0)))]
        # Plain lists, not itertuples: this runs on every filter change, and a thread may be long.
        ids = thread["post_id"].tolist()
        said = list(zip(ids, thread["author"].tolist(), thread["message"].tolist(), strict=True))
        pictured = row["image_count"] > 0 or thread["image_count"].any()  # most threads have no image to look up
        images = self.discussion.images([row["post_id"], *ids]) if pictured else {}  # only this thread's
        self._moderated = moderation.states(self.discussion.engine, [row["post_id"], *ids])
        self.target.options = [
            ("this reflection", row["post_id"]),
            *((f"reply by {author}: {message[:40]}", post_id) for post_id, author, message in said),
        ]
        replies = (
            "".join(
                f"<div style='margin-left:1em;border-left:3px solid #ddd;padding-left:.5em'>"
                f"<b>{html.escape(author)}</b>{self._hidden_note(post_id)}"
                f"{safe_html(message, images.get(post_id))}</div>"
                for post_id, author, message in said
            )
            or "<p><i>No replies yet.</i></p>"
        )
        widgets = self._widgets_html(row["student"], row["notebook"])
        who = f"{row['name']} ({row['student']})" if row.get("name") else row["student"]
        week = "no week" if pd.isna(row["week"]) else f"week {row['week']}"
        return (
            f"<h4>{html.escape(who)} · {week} · {html.escape(row['prompt_title'])}</h4>"
            f"{self._hidden_note(row['post_id'])}"
            f"<p><small>{html.escape(self.prompts.get(row['prompt_id'], ''))}</small></p>"
            f"<p><small>Submitted {when(row['submitted_at'])}{late} · {words} · {row['replies']} repl(ies)</small></p>"
            f"<div style='border:1px solid #ccc;padding:.5em'>"
            f"{safe_html(row['text'], images.get(row['post_id'])) or '<i>(blank)</i>'}</div>"
            f"<h5>Replies</h5>{replies}<h5>Widget answers</h5><ul>{widgets}</ul>"
        )

    def _widgets_html(self, student: str, notebook: str) -> str:
        """The widget answers saved in this notebook: all of them are read in the background (``read_in_background``);
        until then, each notebook's once, when first shown."""
        key = (student, notebook)
        if key not in self._widgets and not self._widgets_read:
            self._widgets.update(widget_items(self.discussion.answers(student=student, notebook=notebook)))
            self._widgets.setdefault(key, NONE_SAVED)
        return self._widgets.get(key, NONE_SAVED)

    def _hidden_note(self, post_id: str) -> str:
        """A line saying a post is hidden, by whom, when and why (nothing for a post that is shown)."""
        state = self._moderated.get(post_id)
        if state is None or not state.hidden:
            return ""
        why = f": {state.reason}" if state.reason else ""
        return (
            f"<p style='color:#a33'><small>Hidden ({html.escape(state.action)} by {html.escape(state.actor)}, "
            f"{when(state.at)}{html.escape(why)}): not on the site or in the feed.</small></p>"
        )

    # -- writing ----------------------------------------------------------------------------------
    def moderate(self, action) -> None:
        """Hide or restore the post chosen in ``target`` (``moderation.hide`` or ``.restore``)."""
        post_id = self.target.value
        if post_id is None:
            return
        try:
            state = action(self.discussion.engine, post_id, self.reviewer, self.reason.value)
        except moderation.ModerationError as exc:
            self.moderation_note.value = f"<small style='color:#a33'>{html.escape(str(exc))}</small>"
            return
        self.reason.value = ""
        self.show()
        self.target.value = post_id
        self.moderation_note.value = (
            f"<small>✔ {html.escape(post_id)} is now {state}: publish again to update the site and the feed.</small>"
        )

    def save(self) -> None:
        """Store the scores, comment and flag on screen as a new review of the reflection on screen.

        The review is based on the one the controls showed, so a colleague's saved since is a conflict.
        """
        if self._loading or not self.reviewer or self.current is None:
            return
        shown, based_on = self._on_screen
        try:
            table = self._every_row().table
        except Exception as exc:
            self.saved.value = (
                f"<b style='color:#a33'>Not saved: the class's reflections could not be read "
                f"({html.escape(str(exc))}).</b> What you entered is still on screen; enter it again to try again."
            )
            return
        row = self.current
        if row is None or row["post_id"] != shown:
            self.show()
            self.saved.value = (
                "<b style='color:#a33'>Not saved: the reflection you scored is no longer in the log</b> "
                "(erased or withdrawn while the desk was opening). The desk now shows another one."
            )
            return
        scores = {c: control.value for c, control in self.scores.items() if control.value != NO_SCORE}
        draft = ReviewDraft(
            row["student"],
            row["notebook"],
            row["prompt_id"],
            self.reviewer,
            scores,
            self.comment.value,
            self.flag.value,
            based_on,
        )
        review, conflict = save_review(self.discussion.engine, draft)
        position = self._matches[self.position]
        status = "flagged" if review.flagged else "reviewed"
        updates = dict(
            review_id=review.id,
            reviewer=review.reviewer,
            scores=scores,
            comment=review.comment,
            flagged=review.flagged,
            reviewed_at=review.created_at,
            status=status,
        )
        for column, value in updates.items():
            table.iat[position, table.columns.get_loc(column)] = value
        self._matcher.changed("status")  # this row's status may have changed
        self._progress = progress(table)
        history = self._reviews_of(row)
        if conflict and all(r.id != conflict.id for r in history):
            history.append(conflict)
        history.append(review)
        self.history.value = self._history_html(row)
        message = f"<small>✔ Saved at {review.created_at:%H:%M:%S} by {self._who(self.reviewer)}.</small>"
        if conflict:
            message += (
                f"<div style='color:#a33'>⚠ {self._who(conflict.reviewer)} saved a review of this reflection at "
                f"{conflict.created_at:%H:%M:%S} while you had it open (scores {html.escape(str(conflict.scores))}, "
                f"comment “{html.escape(conflict.comment)}”). Both are kept in the log; yours is now the latest.</div>"
            )
        self.saved.value = message
        self._show_summary()

    def _show_summary(self) -> None:
        matching = len(self._matches) if self._rows.complete else self._rows.total  # opened: nothing filtered
        shown = f"{self.position + 1} of {matching} matching" if matching else "0 matching"
        self.summary.value = f"<b>{shown}</b> · {self._progress} overall"

    def fallback(self) -> tuple[str, list[str]]:
        return "Review desk: filter, read, score and comment.", []

    def close(self) -> None:
        """Close the widget; a demo desk also removes its temporary folder."""
        super().close()
        if self._cleanup is not None:
            self._cleanup()


def _places(post_ids: list[str], table_ids: pd.Series) -> np.ndarray:
    """Where each of a page's posts is in the whole table (-1: gone from the log meanwhile).

    The page is the table's head, unless the log changed between the two reads: then it is looked up.
    """
    if table_ids.iloc[: len(post_ids)].tolist() == post_ids:
        return np.arange(len(post_ids))
    return pd.Index(table_ids).get_indexer(post_ids)


def _review_id(row: pd.Series) -> int | None:
    """The latest review a row shows (None: unreviewed)."""
    return None if pd.isna(row["review_id"]) else int(row["review_id"])


def widget_items(answers: pd.DataFrame) -> dict[tuple[str, str], str]:
    """Widget answers (``DiscussionLog.answers()``) as the desk lists them, by (student, notebook)."""
    items: dict[tuple[str, str], str] = {}
    columns = [answers[c].tolist() for c in ("student", "notebook", "kind", "widget_id", "state")]
    for student, notebook, kind, widget, state in zip(*columns, strict=True):
        summary = answer_format.summary({"kind": kind, "state": state})
        item = f"<li>{html.escape(kind)} {html.escape(widget)}: {html.escape(summary)}</li>"
        items[(student, notebook)] = items.get((student, notebook), "") + item
    return items


def default_reviewer(settings: Settings) -> str:
    """Who this kernel reviews as: JupyterHub's user, else the machine login unless shared ("": ask)."""
    return reviewer_login(settings.staff, os.environ.get("JUPYTERHUB_USER"), getpass.getuser())


def demo_desk(settings: Settings, reading: Reading, reviewer: str, students: int = 12) -> ReviewDesk:
    """A desk over a generated class in a temporary folder, clearly labelled as a demo (before the log exists).

    The folder is removed when the desk is closed (``desk.close()``), garbage-collected, or when
    Python exits, whichever comes first.
    """
    from coursekit.log.demo import make_class

    folder = Path(tempfile.mkdtemp(prefix="coursekit-demo-"))
    try:
        db = make_class(reading, folder, students=students)
        log = open_log(db)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    desk = ReviewDesk(log, settings, reading, reviewer, label=" (demo course: no class log found yet)")
    desk.demo_folder = folder
    desk._cleanup = weakref.finalize(desk, _remove_demo, log.engine, folder)
    return desk


def _remove_demo(engine, folder: Path) -> None:
    engine.dispose()
    shutil.rmtree(folder, ignore_errors=True)
