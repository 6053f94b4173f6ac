import sys
from pathlib import Path

# clean_builders lives in tests/engine; decks.py next to this file
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from spark_fixture import spark  # noqa: E402,F401 - the session-scoped Spark fixture
