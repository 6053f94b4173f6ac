"""Reading input CSV files as text: no type guessing, problems raised as clear errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd


def read_text_csv(path: Path | str, error: Callable[[str], Exception]) -> pd.DataFrame:
    """Every column as stripped text (empty cells stay ''); `error(message)` builds the
    exception raised for a missing or unreadable file."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise error(f"{path}: unreadable CSV ({exc})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame
