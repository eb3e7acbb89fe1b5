"""Free-text search as people type it: accents, case and punctuation do not matter.

"SAINT NIEL" finds "Saint-Niel", "ecole" finds "École". Texts are folded once when stored
(a search column kept up to date on write) and queries are folded the same way, so the
database only runs plain `LIKE` on ASCII words, the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_NOT_WORD = re.compile(r"[^0-9a-z]+")
MAX_QUERY_WORDS = 8


def fold(text: str) -> str:
    """Lower-case ASCII words separated by single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.replace("œ", "oe").replace("Œ", "OE"))
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_NOT_WORD.split(ascii_only.casefold())).strip()


def search_words(query: str) -> list[str]:
    """The words of a query, each of which must appear (at most MAX_QUERY_WORDS)."""
    return [w for w in fold(query).split(" ") if w][:MAX_QUERY_WORDS]


def site_search_text(parts: Iterable[str | None]) -> str:
    """The folded text a site is found by (with spaces around, so words match at edges)."""
    return f" {' '.join(fold(p) for p in parts if p)} "
