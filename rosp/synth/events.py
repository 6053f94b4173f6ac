"""Event buffers of one chunk: DCIR lines, PMSI stays, ALD periods."""

from __future__ import annotations

import numpy as np

KIND_NONE, KIND_PHA, KIND_BIO, KIND_CAM = 0, 1, 2, 3

#: base reimbursed amount per nature (EUR, order of magnitude)
AMOUNT = {1111: 25.0, 1112: 30.0, 1117: 46.0, 3111: 3.15, 3134: 27.0, 9421: 30.0, 9434: 0.0,
          1163: 0.0, 3332: 13.5, 3211: 8.0, 1351: 45.0, 1352: 40.0, 1324: 40.0, 1321: 80.0}

_FIELDS = ("pid", "day", "nat", "qty", "exe", "pre", "kind", "code", "exo", "dtf", "amount")
_DTYPES = {"pid": np.int32, "day": np.int32, "nat": np.int32, "qty": np.int32, "exe": np.int32,
           "pre": np.int32, "kind": np.int8, "code": np.int64, "exo": np.int16, "dtf": np.int32,
           "amount": np.float64}


class DcirBuffer:
    """Column-wise accumulator of ER_PRS_F lines (+ one detail per line)."""

    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []

    def add(self, pid, day, nat, exe, pre=-1, qty=1, kind=KIND_NONE, code=0, exo=0, dtf=0,
            amount=None) -> None:
        pid = np.asarray(pid, dtype=np.int32)
        n = len(pid)
        if n == 0:
            return
        if amount is None:
            nat_arr = np.broadcast_to(np.asarray(nat), (n,))
            if nat_arr.ndim and len(np.unique(nat_arr)) == 1:
                amount = AMOUNT.get(int(nat_arr[0]), 10.0)
            else:
                amount = np.array([AMOUNT.get(int(x), 10.0) for x in nat_arr])
        vals = {"pid": pid, "day": day, "nat": nat, "qty": qty, "exe": exe, "pre": pre, "kind": kind,
                "code": code, "exo": exo, "dtf": dtf, "amount": amount}
        self.parts.append({k: np.broadcast_to(np.asarray(v, dtype=_DTYPES[k]), (n,)) for k, v in vals.items()})

    def concat(self) -> dict[str, np.ndarray]:
        if not self.parts:
            return {k: np.empty(0, dtype=_DTYPES[k]) for k in _FIELDS}
        return {k: np.concatenate([p[k] for p in self.parts]) for k in _FIELDS}


class PmsiBuffer:
    """Stays with their DP/DR, associated diagnoses and CCAM acts."""

    def __init__(self) -> None:
        self.stays: list[tuple] = []  # (pid, entry, los, dp, dr, das tuple, acts tuple((code, delay)))

    def add(self, pid: np.ndarray, entry: np.ndarray, los: np.ndarray, dp: np.ndarray,
            dr: np.ndarray | None = None, das: list[tuple] | None = None,
            acts: list[tuple] | None = None) -> None:
        for i in range(len(pid)):
            self.stays.append((
                int(pid[i]), int(entry[i]), int(los[i]), str(dp[i]),
                None if dr is None or dr[i] is None else str(dr[i]),
                tuple(das[i]) if das is not None else (),
                tuple(acts[i]) if acts is not None else (),
            ))


class AldBuffer:
    def __init__(self) -> None:
        self.rows: list[tuple] = []  # (pid, ald_num, start, end|None, icd)

    def add(self, pid: np.ndarray, ald: int, start: np.ndarray, icd: np.ndarray) -> None:
        for i in range(len(pid)):
            self.rows.append((int(pid[i]), ald, int(start[i]), None, str(icd[i])))
