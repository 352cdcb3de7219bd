"""The rules of the class discussion, applied to one student's whole submission at once.

A reply must answer a post that exists; a like must be of someone else's post (a reflection or a
reply) that exists; liking twice counts once; practice on the sample class is not kept. The log
looks up the authors of every post a submission mentions in one query (``mentioned``), then these
plain functions decide what is kept and what is reported on that file's line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Reply:
    key: str  # "<parent post id>#<n>": the n-th reply this student wrote to that parent in this notebook
    parent_id: str
    text: str
    source: tuple[str, int]  # (peer answer id, index of the reply in it): where its images are filed


@dataclass
class Decided:
    """What of a submission's replies and likes is kept, and why the rest is not."""

    replies: list[Reply] = field(default_factory=list)
    likes: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)


def mentioned(peer_states: Iterable[tuple[str, dict]]) -> set[str]:
    """Every post id the (answer id, state) pairs of a notebook reply to or like."""
    found: set[str] = set()
    for _, state in peer_states:
        if not state.get("sample"):
            found |= {r["parent_id"] for r in state["replies"]} | set(state["likes"])
    return found


def decide(student: str, peer_states: Iterable[tuple[str, dict]], authors: Mapping[str, str]) -> Decided:
    """Apply the discussion's rules; ``authors`` maps each mentioned post id that exists to its author."""
    decided = Decided()
    per_parent: dict[str, int] = {}
    for answer_id, state in peer_states:
        if state.get("sample"):
            if state["replies"] or state["likes"]:
                decided.notes.append("replies and likes on the sample class are practice and were not stored")
            continue
        for n, reply in enumerate(state["replies"]):
            parent = reply["parent_id"]
            if parent not in authors:
                decided.notes.append(f"reply to {parent} not stored: no such post in the log")
                continue
            key = f"{parent}#{per_parent.setdefault(parent, 0)}"
            per_parent[parent] += 1
            decided.replies.append(Reply(key, parent, reply["text"].strip(), (answer_id, n)))
        for post in dict.fromkeys(state["likes"]):
            author = authors.get(post)
            if author is None:
                decided.notes.append(f"like of {post} not stored: no such post in the log")
            elif author == student:
                decided.notes.append(f"like of {post} not stored: it is the student's own post")
            else:
                decided.likes.add(post)  # a set: liking twice, or in two notebooks' answers, counts once
    return decided
