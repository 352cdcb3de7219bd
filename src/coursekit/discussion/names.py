"""Stable pseudonyms and public ids, derived from a per-course secret kept in the log.

The same student gets the same pseudonym every week, and classmates cannot recompute it from a
name because it is an HMAC under the course secret, not a plain hash. This is the one place the
rule lives: post ids (``reflection_id``, ``reply_id``) for the log and collect, and the author
students see (``as_seen``) for the site, the peer feed and ``DiscussionLog.posts_as_seen``.
"""

from __future__ import annotations

import hashlib
import hmac

ADJECTIVES = (
    "Amber",
    "Bold",
    "Brisk",
    "Calm",
    "Clever",
    "Curious",
    "Daring",
    "Eager",
    "Fair",
    "Gentle",
    "Golden",
    "Happy",
    "Keen",
    "Kind",
    "Lively",
    "Lucky",
    "Merry",
    "Nimble",
    "Noble",
    "Patient",
    "Quick",
    "Quiet",
    "Rapid",
    "Steady",
    "Sunny",
    "Swift",
    "Thoughtful",
    "Tidy",
    "Vivid",
    "Warm",
    "Wise",
    "Witty",
)
ANIMALS = (
    "Badger",
    "Beaver",
    "Crane",
    "Dolphin",
    "Falcon",
    "Ferret",
    "Finch",
    "Fox",
    "Gecko",
    "Heron",
    "Ibis",
    "Jay",
    "Koala",
    "Lark",
    "Lemur",
    "Lynx",
    "Marten",
    "Moose",
    "Newt",
    "Otter",
    "Owl",
    "Panda",
    "Puffin",
    "Quail",
    "Raven",
    "Robin",
    "Seal",
    "Stork",
    "Swan",
    "Tapir",
    "Wren",
    "Yak",
)


def digest(secret: str, *parts: str) -> str:
    return hmac.new(secret.encode(), "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


def public_id(secret: str, prefix: str, *parts: str) -> str:
    """A short id for a post that reveals nothing about its author."""
    return f"{prefix}-{digest(secret, prefix, *parts)[:12]}"


def pseudonym(secret: str, student: str) -> str:
    """'Curious Heron 42': readable, stable per course, and not derivable without the secret."""
    value = int(digest(secret, "pseudonym", student)[:12], 16)
    adjective = ADJECTIVES[value % len(ADJECTIVES)]
    animal = ANIMALS[(value // len(ADJECTIVES)) % len(ANIMALS)]
    number = (value // (len(ADJECTIVES) * len(ANIMALS))) % 90 + 10
    return f"{adjective} {animal} {number}"


def reflection_id(secret: str, student: str, notebook: str, prompt_id: str) -> str:
    """The public id of a student's reflection on one prompt of one notebook (the same in every version)."""
    return public_id(secret, "r", student, notebook, prompt_id)


def reply_id(secret: str, student: str, notebook: str, key: str) -> str:
    """The public id of a reply; ``key`` is "<parent post id>#<n>", the student's n-th reply to that parent."""
    return public_id(secret, "c", student, notebook, key)


def as_seen(secret: str, names: str, student: str) -> str:
    """The author as classmates see them: a stable pseudonym, or the real name when ``names`` is "real"."""
    return pseudonym(secret, student) if names == "pseudonym" else student
