"""Stable pseudonyms and public ids, derived from a per-course secret kept in the log.

The same student gets the same pseudonym every week, and classmates cannot recompute it from a
name because it is an HMAC under the course secret, not a plain hash.
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
