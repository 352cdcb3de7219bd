"""The instructor's view of the discussion log as pandas DataFrames.

Usage in a notebook::

    from coursekit.log import open_log
    log = open_log("class.db")
    log.reflections()          # one row per student, notebook and prompt: the current text
    log.history()              # every version ever collected
    log.answers("stance")      # widget answers saved in the notebooks
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
from sqlalchemy import Boolean, DateTime, Engine, case, func, literal, select, tuple_, union_all

from coursekit.discussion.images import data_uri
from coursekit.discussion.names import as_seen
from coursekit.discussion.removal import FORMER_STUDENT, REMOVED, REMOVED_MESSAGE
from coursekit.log import meta, moderation, schema
from coursekit.log.schema import open_database
from coursekit.log.tables import (
    answers,
    images,
    likes,
    reflection_versions,
    reflections,
    removed_posts,
    replies,
    reviews,
    submissions,
)
from coursekit.notebook.answers import summary as answer_summary


class DiscussionLog:
    """Read access to a discussion log; every method returns a fresh DataFrame.

    Reading never writes: nothing here creates, migrates, inserts or commits, so a read-only file
    or database role is enough (``tests/log/test_readers_read_only.py`` runs every reader so).
    """

    def __init__(self, engine: Engine):
        self.engine = engine

    def _frame(self, query) -> pd.DataFrame:
        with self.engine.connect() as conn:
            return pd.read_sql(query, conn)

    def _quick_rows(self, query) -> tuple[list[str], Sequence[Any]]:
        """The column names and rows of ``query``, straight off the DB-API cursor (values as the driver gives them)."""
        with self.engine.connect() as conn:
            compiled = query.compile(conn, compile_kwargs={"render_postcompile": True})
            params = compiled.params
            values = [params[name] for name in compiled.positiontup or ()] if compiled.positional else params
            cursor = conn.connection.cursor()
            try:
                cursor.execute(str(compiled), values)
                return [column[0] for column in cursor.description], cursor.fetchall()
            finally:
                cursor.close()

    def _quick_frame(self, query) -> pd.DataFrame:
        """``_frame`` for the reads a widget waits on: rows straight off the DB-API cursor, converted per column.

        SQLAlchemy makes a Row and converts each value in Python, which is most of the time of reading
        50,000 reflections. SQLite hands back DateTime columns as text and Boolean ones as 0 and 1: they
        are converted here, so the frame is the one ``_frame`` makes.
        """
        names, rows = self._quick_rows(query)
        frame = pd.DataFrame.from_records(rows, columns=names, coerce_float=True)
        for column in query.selected_columns:
            if not len(frame):
                break
            if isinstance(column.type, DateTime) and not pd.api.types.is_datetime64_any_dtype(frame[column.name]):
                frame[column.name] = pd.to_datetime(frame[column.name], format="ISO8601")
            elif isinstance(column.type, Boolean):  # a missing one may have become NaN beside 0 and 1
                frame[column.name] = [None if v is None or v != v else bool(v) for v in frame[column.name].tolist()]
        return frame

    def reflections(
        self, week: int | None = None, text: bool = True, first: int | None = None, prompt_order: Sequence[str] = ()
    ) -> pd.DataFrame:
        """The current reflections, one row each, ordered by week, prompt and student.

        ``text=False`` leaves the text out (most of the log), read quickly, for a caller that reads
        only the texts it shows, with ``reflection_texts`` (the review desk). ``first=N`` reads only
        the first N in notebook order (weeks, then prompts as ``prompt_order`` lists them, then
        students): what the desk shows while it reads the rest.
        """
        columns = [reflections.c.student, reflections.c.notebook, reflections.c.week, reflections.c.prompt_id]
        columns += [reflections.c.post_id, *([reflections.c.text] if text else []), reflections.c.word_count]
        query = select(*columns, reflections.c.version, reflections.c.submitted_at, reflections.c.content_hash)
        then = (reflections.c.student, reflections.c.notebook)  # one student may answer a prompt in two notebooks
        if first is None:
            query = query.order_by(reflections.c.week, reflections.c.prompt_id, *then)
        else:  # the order the desk sorts the whole table in (``in_prompt_order``): prompt ids by code point
            rank = {prompt_id: n for n, prompt_id in enumerate(prompt_order)}
            ranked = case(rank, value=reflections.c.prompt_id, else_=len(rank)) if rank else literal(0)
            prompt = reflections.c.prompt_id
            by_code_point = prompt.collate("C") if self.engine.dialect.name == "postgresql" else prompt
            query = query.order_by(reflections.c.week.asc().nulls_last(), ranked, by_code_point, *then).limit(first)
        if week is not None:
            query = query.where(reflections.c.week == week)
        return self._with_image_count(self._frame(query) if text else self._quick_frame(query))

    def review_counts(self) -> tuple[int, int]:
        """How many current reflections have been reviewed at least once, and how many there are."""
        keys = [reflections.c[k] == reviews.c[k] for k in ("student", "notebook", "prompt_id")]
        reviewed = select(literal(1)).where(*keys).exists()
        query = select(func.count(), func.count().filter(reviewed))
        with self.engine.connect() as conn:
            total, done = conn.execute(query.select_from(reflections)).one()
        return int(done), int(total)

    def prompts_answered(self) -> pd.DataFrame:
        """Each (week, prompt_id) some current reflection answers, read without the reflections' rows."""
        return self._frame(select(reflections.c.week, reflections.c.prompt_id).distinct())

    def authors(self) -> list[str]:
        """Every student with a current reflection, read without the reflections' rows."""
        with self.engine.connect() as conn:
            return sorted(conn.execute(select(reflections.c.student).distinct()).scalars())

    def reflection_texts(self, post_ids=None) -> dict[str, str]:
        """The text of the current reflections with these post ids (all of them when None), by post id."""
        query = select(reflections.c.post_id, reflections.c.text)
        if post_ids is not None:
            query = query.where(reflections.c.post_id.in_(sorted(set(post_ids))))
        return dict(self._quick_rows(query)[1])  # (post_id, text) rows: no frame for a page of texts

    def reply_threads(self, under: Sequence[str] | None = None) -> pd.DataFrame:
        """Every reply, hidden ones too (marked), with ``thread_id``: the post its thread hangs from.

        The columns are ``posts()``'s for replies (post_id, parent_id, author, message, created_at,
        image_count, hidden, thread_id), oldest first within each thread. What the review desk shows
        under a reflection, read without every reflection's row (``posts()`` reads them all).
        ``under``: only the threads hanging from these posts (the replies to them, to those, and so on).
        """
        query = select(
            replies.c.post_id,
            replies.c.parent_id,
            replies.c.student.label("author"),
            replies.c.week,
            replies.c.text.label("message"),
            replies.c.word_count,
            replies.c.submitted_at.label("created_at"),
        )
        if under is not None:
            top = select(replies.c.post_id).where(replies.c.parent_id.in_(sorted(set(under))))
            chain = top.cte("chain", recursive=True)  # UNION, not UNION ALL: a cycle of replies ends
            chain = chain.union(select(replies.c.post_id).where(replies.c.parent_id == chain.c.post_id))
            query = query.where(replies.c.post_id.in_(select(chain.c.post_id)))
        frame = self._with_image_count(self._quick_frame(query))
        with self.engine.connect() as conn:
            frame["hidden"] = frame["post_id"].isin(moderation.hidden(conn))
        frame["thread_id"] = _hung_from(frame["post_id"].tolist(), frame["parent_id"].tolist())
        return frame.sort_values(["thread_id", "created_at", "post_id"], kind="stable").reset_index(drop=True)

    def _with_image_count(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with ``image_count``: how many images each post shows (exports say so)."""
        counts = self._frame(select(images.c.post_id, func.count().label("image_count")).group_by(images.c.post_id))
        frame = frame.merge(counts, on="post_id", how="left")
        frame["image_count"] = frame["image_count"].fillna(0).astype(int)
        return frame

    def history(self) -> pd.DataFrame:
        """Every version of every reflection, oldest first within each reflection."""
        query = (
            select(
                reflections.c.student,
                reflections.c.notebook,
                reflections.c.week,
                reflections.c.prompt_id,
                reflection_versions.c.version,
                reflection_versions.c.text,
                reflection_versions.c.word_count,
                reflection_versions.c.submitted_at,
                reflection_versions.c.collected_at,
                (reflection_versions.c.version == reflections.c.version).label("current"),
            )
            .join(reflections, reflections.c.id == reflection_versions.c.reflection_id)
            .order_by(
                reflections.c.student, reflections.c.notebook, reflections.c.prompt_id, reflection_versions.c.version
            )
        )
        return self._frame(query)

    def answers(self, kind: str | None = None, student: str | None = None, notebook: str | None = None) -> pd.DataFrame:
        """Current widget answers (quiz, stance, sorter), one row each, with a readable summary.

        ``state`` holds the saved widget state as a dict (quiz items, stance position, placements).
        ``student`` and ``notebook`` limit them to one student's, or one notebook's (the desk shows one).
        """
        query = select(
            answers.c.student,
            answers.c.notebook,
            answers.c.week,
            answers.c.widget_id,
            answers.c.kind,
            answers.c.payload,
            answers.c.version,
            answers.c.submitted_at,
        ).order_by(answers.c.week, answers.c.widget_id, answers.c.student)
        for column, wanted in ((answers.c.kind, kind), (answers.c.student, student), (answers.c.notebook, notebook)):
            if wanted is not None:
                query = query.where(column == wanted)
        frame = self._quick_frame(query)
        frame["state"] = frame.pop("payload").map(json.loads)
        frame["summary"] = [
            answer_summary({"kind": k, "state": st}) for k, st in zip(frame["kind"], frame["state"], strict=True)
        ]
        return frame

    def posts(
        self, week: int | None = None, hidden: bool = False, public: bool = False, messages: bool = True
    ) -> pd.DataFrame:
        """The discussion as posts: reflections (roots) and replies, one row each, like counts added.

        Posts hidden by moderation (``log.moderation``) are left out, and so are their likes, unless
        ``hidden`` (then a ``hidden`` column says which are). ``public`` is the discussion as published:
        the replies under a hidden post are left out too, and an erased student's post that others
        answered is kept as a placeholder (kind "removed", by "a former student") to thread them under.

        The columns follow discussion exports (Canvas, ubc/canvas-discussion): ``post_id``,
        ``parent_id`` (empty for a reflection), ``author``, ``message``, ``created_at`` (when the student
        submitted it, as the intake source says), ``like_count``, ``image_count``;
        plus ``kind``, ``week`` (when written), ``thread_id`` and ``thread_week`` (the reflection the thread
        hangs from, and its week) and ``prompt_id`` (that reflection's prompt). Blank reflections are left out.
        ``messages=False`` leaves the reflections' own text out (their ``message`` is None), for a caller
        that has read it with ``reflections()`` already (the review desk): it is the log's largest read.
        """
        roots = select(
            reflections.c.post_id,
            literal(None).label("parent_id"),
            reflections.c.student.label("author"),
            reflections.c.week,
            reflections.c.prompt_id,
            literal("reflection").label("kind"),
            (reflections.c.text if messages else literal(None)).label("message"),
            reflections.c.word_count,
            reflections.c.submitted_at.label("created_at"),
        ).where(reflections.c.text != "")
        answers_to = select(
            replies.c.post_id,
            replies.c.parent_id,
            replies.c.student.label("author"),
            replies.c.week,
            literal(None).label("prompt_id"),
            literal("reply").label("kind"),
            replies.c.text.label("message"),
            replies.c.word_count,
            replies.c.submitted_at.label("created_at"),
        )
        frame = self._with_image_count(self._frame(union_all(roots, answers_to)))
        counts = self._frame(select(likes.c.post_id, func.count().label("like_count")).group_by(likes.c.post_id))
        frame = frame.merge(counts, on="post_id", how="left")
        frame["like_count"] = frame["like_count"].fillna(0).astype(int)
        with self.engine.connect() as conn:
            taken_down = moderation.hidden(conn)
        placeholders = self._placeholders(frame) if public else frame.iloc[:0]
        if len(placeholders):
            frame = pd.concat([frame, placeholders], ignore_index=True)
        if public:
            parents = frame["parent_id"].where(frame["parent_id"].notna(), None)
            taken_down = moderation.with_replies(taken_down, dict(zip(frame["post_id"], parents, strict=True)))
        frame["thread_id"] = _thread_roots(frame)
        roots = frame.set_index("post_id")
        frame["prompt_id"] = frame["thread_id"].map(roots["prompt_id"])
        frame["thread_week"] = frame["thread_id"].map(roots["week"])
        frame["hidden"] = frame["post_id"].isin(taken_down)
        if not hidden:
            frame = frame[~frame["hidden"]].drop(columns="hidden")
        if week is not None:
            frame = frame[frame["thread_week"] == week]
        order = ["thread_week", "prompt_id", "created_at", "post_id"]
        return frame.sort_values(order, kind="stable").reset_index(drop=True)

    def _placeholders(self, posts: pd.DataFrame) -> pd.DataFrame:
        """The erased posts that replies in ``posts`` still hang from (directly or through other erased posts)."""
        r = removed_posts.c
        query = select(
            r.post_id,
            r.parent_id,
            literal(FORMER_STUDENT).label("author"),
            r.week,
            r.prompt_id,
            literal(REMOVED).label("kind"),
            literal(REMOVED_MESSAGE).label("message"),
            literal(0).label("word_count"),
            r.posted_at.label("created_at"),
        )
        removed = self._frame(query)
        needed = set(posts["parent_id"].dropna()) - set(posts["post_id"])
        above = dict(zip(removed["post_id"], removed["parent_id"], strict=True))
        kept: set[str] = set()
        while needed - kept:
            kept |= needed
            needed = {above[p] for p in needed if isinstance(above.get(p), str)} | kept
        removed = removed[removed["post_id"].isin(kept)]
        return removed.assign(image_count=0, like_count=0).astype({"image_count": int, "like_count": int})

    def reviews(self, latest: bool = True, of: Sequence[tuple[str, str, str]] | None = None) -> pd.DataFrame:
        """Rubric scores and comments; by default only the latest review of each reflection.

        Reviews are never overwritten: ``latest=False`` gives every saved review with its reviewer.
        ``of``: only the reviews of these reflections, each a (student, notebook, prompt_id).
        """
        query = select(reviews).order_by(reviews.c.id)
        if of is not None:
            keys = tuple_(reviews.c.student, reviews.c.notebook, reviews.c.prompt_id)
            query = query.where(keys.in_(sorted(set(of))))
        if latest:
            newest = (
                select(func.max(reviews.c.id).label("id"))
                .group_by(reviews.c.student, reviews.c.notebook, reviews.c.prompt_id)
                .subquery()
            )
            query = query.where(reviews.c.id.in_(select(newest.c.id)))
        frame = self._quick_frame(query)
        frame["scores"] = [orjson.loads(scores) for scores in frame["scores"].tolist()]  # json.dumps of points
        frame["flagged"] = frame["flagged"].astype(bool)
        return frame

    def images(self, post_ids=None) -> dict[str, dict[str, str]]:
        """The images posts show, as ``{post_id: {attachment name: data URI}}`` for ``safe_html``.

        Only re-encoded copies are stored (``coursekit.discussion.images``); ``post_ids`` limits the lookup.
        """
        query = select(images.c.post_id, images.c.name, images.c.mime, images.c.data).order_by(images.c.id)
        if post_ids is not None:
            query = query.where(images.c.post_id.in_(sorted(set(post_ids))))
        found: dict[str, dict[str, str]] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                found.setdefault(row.post_id, {})[row.name] = data_uri(row.mime, bytes(row.data))
        return found

    def likes(self) -> pd.DataFrame:
        """Who liked which post, and in which notebook."""
        return self._frame(select(likes).order_by(likes.c.post_id, likes.c.student))

    def course_secret(self) -> str:
        """The per-course secret behind pseudonyms and post ids (``collect`` makes it; this only reads it)."""
        with self.engine.connect() as conn:
            return meta.read_secret(conn, schema.shown(self.engine))

    def posts_as_seen(self, names: str = "pseudonym", week: int | None = None) -> pd.DataFrame:
        """``posts(public=True)`` with authors shown as students see them: stable pseudonyms or real names."""
        frame = self.posts(week, public=True)
        people = frame["kind"] != REMOVED  # an erased post's placeholder is nobody's
        if people.any():
            secret = self.course_secret()
            frame.loc[people, "author"] = frame.loc[people, "author"].map(lambda s: as_seen(secret, names, s))
        return frame

    def submissions(self, students: Sequence[str] | None = None) -> pd.DataFrame:
        """One row per collected notebook file: who, which notebook, when, from where (``students``: only theirs)."""
        query = select(submissions).order_by(submissions.c.student, submissions.c.notebook)
        if students is not None:
            query = query.where(submissions.c.student.in_(sorted(set(students))))
        return self._quick_frame(query)


def _thread_roots(frame: pd.DataFrame) -> pd.Series:
    """The reflection at the root of each post's thread (itself, for a reflection)."""
    parent = dict(zip(frame["post_id"], frame["parent_id"], strict=True))

    def root(post_id: str) -> str:
        seen = set()
        while parent.get(post_id) and parent[post_id] in parent and post_id not in seen:
            seen.add(post_id)
            post_id = parent[post_id]
        return post_id

    answers = frame["parent_id"].notna()  # a reflection is its own root: only replies are followed
    roots = frame["post_id"].copy()
    roots[answers] = frame.loc[answers, "post_id"].map(root)
    return roots


def _hung_from(post_ids: list[str], parent_ids: list[str]) -> list[str]:
    """For each reply, the post at the top of its chain of replies: the reflection its thread hangs from."""
    parent = dict(zip(post_ids, parent_ids, strict=True))
    top: dict[str, str] = {}
    for post_id in post_ids:
        chain, at = [], post_id
        while at in parent and at not in top and at not in chain:  # climb until a known top or a non-reply
            chain.append(at)
            at = parent[at]
        found = top.get(at, at)
        top.update(dict.fromkeys(chain, found))
    return [top[post_id] for post_id in post_ids]


def open_log(target: str | Path) -> DiscussionLog:
    """Open an existing log by SQLite path or PostgreSQL URL."""
    return DiscussionLog(open_database(target, create=False))
