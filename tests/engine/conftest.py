import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "indicators"))

from spark_fixture import spark  # noqa: E402,F401 - the session-scoped Spark fixture
