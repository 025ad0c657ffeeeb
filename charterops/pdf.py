"""Text for fpdf2's core fonts, shared by every PDF the project renders (crew, guest pages).

The core fonts (helvetica, times) are Latin-1 only and need no font file in the repository or
the image: typographic marks are mapped, letters outside Latin-1 transliterated, the rest "?".
"""

from __future__ import annotations

import unicodedata

__all__ = ["pdf_text", "pdf_text_is_exact"]

_REPLACEMENTS = {
    "\u2013": "-",
    "\u2014": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2026": "...",
    "\u2022": "*",
}


def pdf_text(value: object) -> str:
    """Text for the PDF's core fonts (Latin-1): typographic marks mapped, the rest transliterated."""
    text = str(value if value is not None else "")
    for old, new in _REPLACEMENTS.items():
        text = text.replace(old, new)
    if all(ord(c) < 256 for c in text):
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c if ord(c) < 256 else "?" for c in decomposed if not unicodedata.combining(c))


def pdf_text_is_exact(value: object) -> bool:
    """Whether ``pdf_text`` shows ``value`` letter for letter (typographic marks aside)."""
    text = str(value if value is not None else "")
    for old in _REPLACEMENTS:
        text = text.replace(old, "")
    return all(ord(c) < 256 for c in text)
