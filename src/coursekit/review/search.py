"""Substring search over many texts without reading them again: an index of their words, made once.

The review desk's Search box finds the reflections whose lower-cased text contains what was typed
(``needle in text``), on every keystroke, over 50,000 reflections. Scanning them all costs tens of
milliseconds; this index answers the same question from the words alone.

Each text is cut at its spaces (``text.split(" ")``, which loses nothing) into tokens. A needle
without a space occurs in a text exactly when one of its tokens contains it; a needle cut the same
way into pieces occurs exactly when consecutive tokens end with the first piece, equal the middle
ones and start with the last. So the index keeps the distinct tokens (searched as one byte string),
the rows each token is in, and the token sequence of every text (for pieces that must be adjacent).
"""

from __future__ import annotations

from itertools import chain

import numpy as np
import pandas as pd

GAP = b"\xff"  # between tokens and rows: no UTF-8 text contains this byte, so no match spans two tokens


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")  # byte substrings of UTF-8 are exactly the text's substrings


class TextIndex:
    """``rows(needle)``: which of ``texts`` contain ``needle`` (a bool per text), as ``needle in text`` says."""

    def __init__(self, texts: list[str], batch: int = 2000):
        vocabulary: dict[str, int] = {}
        sequences: list[np.ndarray] = []
        lengths: list[int] = []
        for first in range(0, len(texts), batch):  # pandas numbers a batch's tokens; Python only its distinct ones
            split = [text.split(" ") for text in texts[first : first + batch]]
            lengths.extend(map(len, split))
            codes, distinct = pd.factorize(np.array(list(chain.from_iterable(split)), dtype=object))
            ids = np.fromiter((vocabulary.setdefault(t, len(vocabulary)) for t in distinct), np.int32, len(distinct))
            sequences.append(ids[codes])
        self.size, self.words = len(texts), len(vocabulary)
        # Every text's token ids in order, each text followed by the id ``words`` (which no token has).
        ends = np.cumsum(np.array(lengths, np.int64) + 1) - 1
        self.sequence = np.full(int(ends[-1]) + 1 if len(ends) else 0, self.words, np.int32)
        tokens = np.ones(len(self.sequence), bool)
        tokens[ends] = False
        self.sequence[tokens] = np.concatenate(sequences or [np.zeros(0, np.int32)])
        self.row_of = np.repeat(np.arange(self.size, dtype=np.int32), np.array(lengths, np.int64) + 1)
        # Where each token occurs (positions in ``sequence``) grouped by token, and the rows it is in, each once.
        self.occurrences = np.argsort(self.sequence, kind="stable").astype(np.int32)
        grouped = self.sequence[self.occurrences]
        self.starts = np.searchsorted(grouped, np.arange(self.words + 2))
        rows = self.row_of[self.occurrences]
        first_in_row = np.ones(len(rows), bool)
        first_in_row[1:] = (grouped[1:] != grouped[:-1]) | (rows[1:] != rows[:-1])
        self.row_lists = rows[first_in_row]
        self.row_starts = np.searchsorted(grouped[first_in_row], np.arange(self.words + 2))
        # The tokens as one byte string, each followed by GAP, and where each token starts in it.
        encoded = [_encode(token) for token in vocabulary]
        self.token_bytes = np.frombuffer(GAP.join(encoded) + GAP, np.uint8)
        self.token_at = np.concatenate([[0], np.cumsum([len(e) + 1 for e in encoded])]).astype(np.int64)
        self.vocabulary = vocabulary

    def rows(self, needle: str) -> np.ndarray:
        """A bool per text: does it contain ``needle``? ("" is in every text.)"""
        if not needle:
            return np.ones(self.size, bool)
        pieces = needle.split(" ")
        found = np.zeros(self.size, bool)
        if len(pieces) == 1:
            found[self.row_lists[_spans(self.row_starts, self._tokens(pieces[0], "in"))]] = True
            return found
        wanted = [
            self._tokens(pieces[0], "ends"),
            *map(self._exactly, pieces[1:-1]),
            self._tokens(pieces[-1], "starts"),
        ]
        counts = [int((self.starts[t + 1] - self.starts[t]).sum()) for t in wanted]
        anchor = int(np.argmin(counts))  # start from the rarest piece: the fewest places to look
        at = self.occurrences[_spans(self.starts, wanted[anchor])] - np.int32(anchor)  # the first token's place
        # No bounds to check: a place before the start wraps round to the end of the last row (an id no
        # token has), and checking offsets in order meets the end of a row before running past it.
        for offset, tokens in enumerate(wanted):
            if offset != anchor and len(at):
                allowed = np.zeros(self.words + 1, bool)  # the end-of-row id is never allowed
                allowed[tokens] = True
                at = at[allowed[self.sequence[at + np.int32(offset)]]]
        found[self.row_of[at]] = True
        return found

    def _exactly(self, piece: str) -> np.ndarray:
        token = self.vocabulary.get(piece)
        return np.array([] if token is None else [token], np.int64)

    def _tokens(self, piece: str, how: str) -> np.ndarray:
        """The ids of the tokens that contain ``piece`` ("in"), end with it ("ends") or start with it ("starts")."""
        needle = np.frombuffer(_encode(piece), np.uint8)
        if not len(needle):  # "" ends and starts every token
            return np.arange(self.words, dtype=np.int64)
        haystack = self.token_bytes
        at = np.flatnonzero(haystack[: len(haystack) - len(needle) + 1] == needle[0])
        for k in range(1, len(needle)):
            at = at[haystack[at + k] == needle[k]]
        tokens = np.searchsorted(self.token_at, at, side="right") - 1
        if how == "starts":
            tokens = tokens[self.token_at[tokens] == at]
        elif how == "ends":
            tokens = tokens[self.token_at[tokens + 1] - 1 == at + len(needle)]
        return np.unique(tokens)


def _spans(bounds: np.ndarray, groups: np.ndarray) -> np.ndarray | slice:
    """Every index in ``bounds[g]:bounds[g + 1]`` for each of ``groups``, in one array (no loop per group)."""
    if len(groups) == 1:  # one token (a middle piece, or a whole word): its own slice, nothing to copy
        return slice(int(bounds[groups[0]]), int(bounds[groups[0] + 1]))
    lengths = bounds[groups + 1] - bounds[groups]
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, np.int64)
    steps = np.ones(total, np.int64)
    first = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    kept = lengths > 0
    steps[first[kept]] = bounds[groups[kept]] - np.concatenate([[0], (bounds[groups[kept]] + lengths[kept])[:-1] - 1])
    return np.cumsum(steps)
