"""Put the roster's student on every file: match what a source knows about its sender to one roster row.

A source knows ids (a Canvas user id, a login), e-mail addresses (Moodle's worksheet) and names
(Canvas's squeezed sortable name, Moodle's full name). Ids are tried first, then e-mails (against the
roster's e-mail column or its logins, then by the login before the @), then names; the match says
which rule found the student. A claim that fits no row, or two, comes back without a student and
with the candidates, so nothing is stored under a guess.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field

import pandas as pd

ID_COLUMNS = ("student", "ID", "SIS User ID", "SIS Login ID")
LOGIN_COLUMNS = ("SIS Login ID", "SIS User ID", "student")  # where a login (or a whole e-mail) may be
EMAIL_HEADERS = ("email", "emailaddress")  # a roster column named Email, E-mail, Email address, ...
_NON_WORD = re.compile(r"[^\w]")
_WORDS = re.compile(r"\w+")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold().strip()


def canvas_name(name: str) -> str:
    """A name as Canvas squeezes it into file names: lowercased, every non-word character removed."""
    return _NON_WORD.sub("", _fold(name))


def email_columns(columns) -> tuple[str, ...]:
    """The roster's e-mail columns: a gradebook export may add one (``Email``, ``E-mail``, ``Email address``)."""
    return tuple(c for c in columns if re.sub(r"[^a-z]", "", str(c).casefold()) in EMAIL_HEADERS)


def login_part(email: str) -> str:
    """The login before the @ of an e-mail address ("ALee1@uni.example" -> "ALee1"); "" when it has none."""
    local, at, _ = email.strip().rpartition("@")
    return local if at else ""


def name_words(name: str) -> tuple[str, ...]:
    """A name's words in any order ("Lee, Ann" and "Ann Lee" agree)."""
    return tuple(sorted(_WORDS.findall(_fold(name))))


@dataclass(frozen=True)
class Claim:
    """What a source says about who sent a file."""

    ids: tuple[str, ...] = ()
    id_columns: tuple[str, ...] = ID_COLUMNS  # where the ids may appear in the roster
    emails: tuple[str, ...] = ()  # e-mail addresses (Moodle's worksheet)
    names: tuple[str, ...] = ()  # full names, in any word order
    squeezed: str = ""  # Canvas's squeezed sortable name
    hint: str = ""  # what to do when nothing matches (anonymous grading, blind marking)


NOT_ON_ROSTER = "add the student to the roster (or fix their id there), then run again"
TWO_ON_ROSTER = "the roster cannot tell them apart by this; match by id (Canvas user id, Moodle worksheet e-mail)"
SHARED_ID = "two roster rows hold the same {what}; give each student their own in the roster, then run again"
UNKNOWN_ID = "the roster cannot tell them apart by name, and {tried} is in none of its rows: {fix}, then run again"
ADD_EMAIL = "give the roster an Email column, or make SIS Login ID the login before the @"


@dataclass(frozen=True)
class Match:
    student: str | None
    candidates: tuple[str, ...] = ()  # roster students it could be, when it matched none or several
    reason: str = ""
    hint: str = ""  # what to do when there is no student
    rule: str = ""  # which rule found the student: "id (ID)", "e-mail (Email)", "e-mail login (SIS Login ID)", "name"


@dataclass
class Roster:
    """The roster's rows indexed by every id and name a source may give."""

    frame: pd.DataFrame
    ids: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    words: dict[tuple[str, ...], set[str]] = field(default_factory=dict)
    squeezed: dict[str, set[str]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # student key -> "Name (key)"
    emails: tuple[str, ...] = ()  # the roster's e-mail columns

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Roster:
        roster = cls(frame, emails=email_columns(frame.columns))
        for row in frame.to_dict("records"):
            key = row["student"]
            name = str(row.get("Student", "")).strip()
            roster.labels[key] = f"{name} ({key})" if name and name != key else key
            for column in (*ID_COLUMNS, *roster.emails):
                value = str(row.get(column, "")).strip()
                if value:
                    roster.ids.setdefault((column, _fold(value)), set()).add(key)
            if name:
                roster.words.setdefault(name_words(name), set()).add(key)
                roster.squeezed.setdefault(canvas_name(name), set()).add(key)
                if "," in name:  # Canvas squeezes the sortable name; a roster may hold "First Last" too
                    last, first = name.split(",", 1)
                    roster.squeezed.setdefault(canvas_name(f"{first} {last}"), set()).add(key)
        return roster

    def match(self, claim: Claim) -> Match:
        tries = [
            *((value, "id", claim.id_columns) for value in claim.ids),
            *((email, "e-mail", (*self.emails, *LOGIN_COLUMNS)) for email in claim.emails),
            *((login_part(email), "e-mail login", LOGIN_COLUMNS) for email in claim.emails if login_part(email)),
        ]
        for value, rule, columns in tries:
            found, column = self._lookup(value, columns)
            if found:
                return self._decide(found, f"{rule} {value}", f"{rule} ({column})", SHARED_ID.format(what=rule))
        found = set().union(*(self.words.get(name_words(n), set()) for n in claim.names if name_words(n)))
        rule = "name"
        if not found and claim.squeezed:
            found, rule = self.squeezed.get(canvas_name(claim.squeezed), set()), "Canvas name"
        if found:
            what = "name " + " / ".join([*claim.names, claim.squeezed][:1] or ["?"])
            return self._decide(found, what, rule, self._apart(claim))
        return Match(None, self._close(claim), self._nothing(claim), claim.hint or NOT_ON_ROSTER)

    def _lookup(self, value: str, columns: tuple[str, ...]) -> tuple[set[str], str]:
        """The students whose ``columns`` hold ``value`` (any case), and the first column that did."""
        hits = [(c, self.ids.get((c, _fold(value)), set())) for c in columns]
        found = set().union(*(keys for _, keys in hits))
        return found, next((c for c, keys in hits if keys), "")

    @staticmethod
    def _tried(claim: Claim) -> list[str]:
        return [*(f"id {i}" for i in claim.ids), *(f"e-mail {e}" for e in claim.emails)]

    def _apart(self, claim: Claim) -> str:
        """What would tell two same-named students apart, never asking for what the source already gave."""
        tried = self._tried(claim)
        if tried:
            fix = ADD_EMAIL if claim.emails else f"add it to the roster's {' or '.join(claim.id_columns)} column"
            return UNKNOWN_ID.format(tried=" / ".join(tried), fix=fix)
        return f"the roster cannot tell them apart by name; {claim.hint}" if claim.hint else TWO_ON_ROSTER

    def _decide(self, found: set[str], what: str, rule: str, apart: str) -> Match:
        if len(found) == 1:
            return Match(next(iter(found)), rule=rule)
        candidates = tuple(self.labels[k] for k in sorted(found))
        return Match(None, candidates, f"{what} fits {len(found)} roster students", apart)

    def _nothing(self, claim: Claim) -> str:
        given = [*self._tried(claim), *claim.names, *([claim.squeezed] if claim.squeezed else [])]
        return f"{', '.join(given)} matches no roster student" if given else "the source gives no id or name"

    def _close(self, claim: Claim) -> tuple[str, ...]:
        """Roster students whose names look like the claim's, to help the instructor decide."""
        wanted = [" ".join(name_words(n)) for n in claim.names] + ([claim.squeezed] if claim.squeezed else [])
        by_words = {" ".join(w): keys for w, keys in self.words.items()}
        by_squeezed = self.squeezed
        close: set[str] = set()
        for text in wanted:
            for pool in (by_words, by_squeezed):
                for hit in difflib.get_close_matches(text, list(pool), n=3, cutoff=0.75):
                    close |= pool[hit]
        return tuple(self.labels[k] for k in sorted(close))
