"""Legal references in words a doctor can look up, and French labels of confidences.

The catalogue's `source` strings carry internal provenance tags for developers
(« [V] method.md §1.1 », « [INF] », « seed 004 »). Statements print the legal text
only: the tags and the pointers into the project's notes are removed.
"""

from __future__ import annotations

import re

_TAG = re.compile(r"\[(?:V|V-sec|INF|NF|M|D)(?:\]\[(?:V|V-sec|INF|NF|M|D))*\]")
_NOTE = re.compile(
    r"\s*(?:;\s*)?(?:(?:method|indicators|glossary|data-model|architecture)\.md(?:\s*§[\d.a-z]+(?:,\s*§?[\d.a-z]+)*)?"
    r"|seed\s+\d+|marks it\s*(?:\[\w+\])?)",
    re.IGNORECASE,
)

CONFIDENCE_FR = {
    "verified": "texte vérifié",
    "secondary": "lu dans une source secondaire",
    "inferred": "reconstitution : aucun texte ne l'énonce en ces termes",
}


def legal_words(source: str) -> str:
    """`source` without provenance tags or pointers to the project's notes."""
    text = _TAG.sub("", source or "")
    text = _NOTE.sub("", text)
    text = re.sub(r"\s*;\s*(?=;|$)", "", text)
    text = re.sub(r"\(\s*\)", "", text)
    text = re.sub(r"\s{2,}", " ", text).strip(" ;,")
    return text


def confidence_fr(confidence: str) -> str:
    return CONFIDENCE_FR.get(confidence, confidence)
