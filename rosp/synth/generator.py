"""Streaming generator of a synthetic SNDS extract (see docs/synth.md)."""

from __future__ import annotations

import csv
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from rosp.claims import schema
from rosp.synth import calibration, codes
from rosp.synth.calibration import GroundTruth
from rosp.synth.events import KIND_BIO, KIND_CAM, KIND_PHA, AldBuffer, DcirBuffer, PmsiBuffer
from rosp.synth.population import (
    NEVER,
    PROGRAMME_GROUPS,
    Registry,
    build_registry,
    day,
    hash64,
    hex_strings,
    load_pyramid,
    month_start_after,
)
from rosp.synth.scenarios import (
    SCENARIOS,
    Ctx,
    background,
    history_start,
    load_start,
    specialist_patienteles,
)

CHUNK = 50_000
#: Synthetic assumption: a child's médecin traitant declaration date is drawn as
#: opening + u ** CHILD_MT_SKEW × (span to 31/12/N), u uniform: with 3, 79 % of the
#: declarations of 2017-2018 are made by the end of 2017 (docs/synth.md "History").
CHILD_MT_SKEW = 3
#: share of ER_PRS_F lines duplicated then cancelled, partially regularised, and
#: repeated as information lines (DPN_QLF = 71)
P_DUP_CANCEL, P_PARTIAL, P_INFO = 0.010, 0.005, 0.008
#: share of lines repeated as hospital activity billed in DCIR (ER_ETE_F.ETE_IND_TAA = 1)
P_TAA = 0.004
#: share of ALD exonerations written with a superseded first version (renewal)
P_ALD_RENEWAL = 0.3
#: share of conventioned cabinets in sector 2 (CNV_CNV_COD = '2', still conventioned)
P_SECTOR2 = 0.2
#: the SNDS placeholder 01/01/1600 (alive, open-ended), in days since 1970-01-01
SENTINEL_DAY = -135140
PARQUET_OPTS = {"compression": "zstd", "use_dictionary": True, "write_statistics": True}

Progress = Callable[[int, int], None]


@dataclass
class SynthSummary:
    patients: int
    seed: int
    year: int
    out_dir: Path
    doctors: int
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    files: list[Path] = field(default_factory=list)


def _strings_from_matrix(mat: np.ndarray) -> pa.Array:
    """Arrow string array from an (n, w) uint8 matrix of ASCII bytes."""
    n, w = mat.shape
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(mat.tobytes())])


def _dates(days: np.ndarray, null_mask: np.ndarray | None = None) -> pa.Array:
    arr = pa.array(np.asarray(days, dtype=np.int32), type=pa.int32(), mask=null_mask)
    return arr.cast(pa.date32())


def _take(values: pa.Array, idx: np.ndarray) -> pa.Array:
    """values[idx] with -1 -> null."""
    idx = np.asarray(idx, dtype=np.int64)
    return values.take(pa.array(idx, mask=idx < 0))


def _int(a, t: pa.DataType, mask=None) -> pa.Array:
    return pa.array(np.asarray(a), type=t, mask=mask)


class Writers:
    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.rows: dict[str, int] = {}
        #: years of the yearly PMSI files (T_MCO16B...) to write, even when empty
        self.pmsi_years: tuple[int, ...] = ()

    def write(self, name: str, columns: dict[str, pa.Array], file: str | None = None) -> None:
        """Append ``columns`` to the file ``file`` (default ``name``) of schema table ``name``;
        absent optional columns are written as nulls."""
        sch = schema.TABLES[name].arrow_schema()
        n = len(next(iter(columns.values())))
        arrays = [columns[f.name].cast(f.type) if f.name in columns else pa.nulls(n, f.type) for f in sch]
        table = pa.Table.from_arrays(arrays, schema=sch)
        file = file or name
        if file not in self.writers:
            self.writers[file] = pq.ParquetWriter(self.out_dir / f"{file}.parquet", sch, **PARQUET_OPTS)
            self.rows[file] = 0
        if table.num_rows:
            self.writers[file].write_table(table, row_group_size=1_000_000)
        self.rows[file] += table.num_rows

    def close(self) -> None:
        for name in schema.TABLES:
            if name.startswith("T_MCOaa") and self.pmsi_years:
                for y in self.pmsi_years:  # yearly PMSI files instead of T_MCOaaB
                    file = f"T_MCO{y % 100:02d}{name[-1]}"
                    if file not in self.writers:
                        self.write(name, {f.name: pa.array([], type=f.type)
                                          for f in schema.TABLES[name].arrow_schema()}, file=file)
                continue
            if name not in self.writers:
                self.write(name, {f.name: pa.array([], type=f.type) for f in schema.TABLES[name].arrow_schema()})
        for w in self.writers.values():
            w.close()


class State:
    """Counters carried across chunks."""

    def __init__(self, reg: Registry) -> None:
        self.dct = 0
        self.rsa: dict[int, int] = {}  # RSA numbers restart every PMSI year, as in SNDS
        self.ccam_vocab: dict[str, int] = {}
        self.pfs = pa.array(reg.pfs, type=pa.string())
        self.spe = pa.array(reg.exe_spe, type=pa.int16(), mask=reg.exe_spe < 0)
        self.finess = [f"{d}0{k:06d}" for d in reg.depts for k in (1001, 2002, 3003, 4004, 5005)]
        self.pop_children = np.zeros(3, dtype=np.int64)


def _patients(rng: np.random.Generator, n: int, g0: int, year: int, seed: int, reg: Registry) -> dict:
    lo, hi, probs = load_pyramid()
    cell = rng.choice(probs.size, n, p=probs.ravel())
    band, sexi = np.divmod(cell, 2)
    age = (lo[band] + np.floor(rng.random(n) * (hi[band] - lo[band] + 1))).astype(np.int64)
    sex = (sexi + 1).astype(np.int16)
    bmonth = rng.integers(1, 13, n)
    byear = year - age
    gidx = np.arange(g0, g0 + n, dtype=np.uint64)
    nir_mat, _ = hex_strings(b"P", hash64(gidx, seed * 2 + 1))
    idt_mat, _ = hex_strings(b"", hash64(gidx, seed * 2 + 2))
    rang = np.ones(n, dtype=np.int16)
    # twins: pairs (2k, 2k+1) of children share the NIR of the "ouvrant droit"
    k = np.arange(0, n - 1, 2)
    tw = k[(age[k] < 16) & (age[k + 1] < 16) & (rng.random(len(k)) < 0.015)]
    age[tw + 1] = age[tw]
    byear[tw + 1] = byear[tw]
    bmonth[tw + 1] = bmonth[tw]
    nir_mat[tw + 1] = nir_mat[tw]
    rang[tw + 1] = 2
    months = (byear - 1970) * 12 + (bmonth - 1)
    birth = (months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) + 14).astype(np.int32)
    Y0, Y1, END = day(year - 2), day(year - 1), day(year + 1)
    # deaths during N-2..N (Gompertz-like annual risk)
    q = np.clip(np.exp(-10.2 + 0.093 * age), 0, 0.5)
    dead = rng.random(n) < 1 - (1 - q) ** 3
    dd = np.maximum(Y0 + (rng.random(n) * (END - Y0)).astype(np.int64), birth + 30)
    death = np.where(dead & (dd < END), dd, NEVER).astype(np.int64)
    # médecin traitant
    child = age < 16
    has_mt = rng.random(n) < np.where(child, 0.72, 0.90)
    ped = has_mt & child & (rng.random(n) < 0.12)
    mt = np.full(n, -1, dtype=np.int64)
    i = np.flatnonzero(has_mt & ~ped)
    mt[i] = reg.sample(rng, "gp", len(i))
    i = np.flatnonzero(ped)
    mt[i] = reg.sample(rng, "paediatrician", len(i))
    lo_start = np.where(child, np.maximum(day(2017, 1, 1), birth + 20), day(2005, 7, 1)).astype(np.int64)
    # children's declarations cluster after the opening of the child MT on 1/1/2017
    # (CHILD_MT_SKEW), so that the year before has its child patientèle too
    u = rng.random(n)
    u = np.where(child, u ** CHILD_MT_SKEW, u)
    mt_start = (lo_start + u * np.maximum(END - 1 - lo_start, 1)).astype(np.int64)
    mt[(mt_start >= END) | (death < mt_start)] = -1
    change = (mt >= 0) & (mt_start < Y1 - 30) & (rng.random(n) < 0.05)
    mt_change = np.where(change, Y1 + (rng.random(n) * (END - 30 - Y1)).astype(np.int64), NEVER)
    mt_change = np.where(mt_change >= death, NEVER, mt_change)
    change = mt_change < NEVER
    mt_old = np.where(change, reg.sample(rng, "gp", n), -1)
    # second NIR for ~0.4 % of adults (change of régime): used before `alt_switch`
    alt = (~child) & (rng.random(n) < 0.004)
    alt_mat, _ = hex_strings(b"Q", hash64(gidx, seed * 2 + 3))
    alt_switch = np.where(alt, Y0 + 180 + (rng.random(n) * 500).astype(np.int64), -1)
    dept_idx = np.where(mt >= 0, mt, reg.sample(rng, "gp", n))
    dept = np.array([reg.exe_dept[reg.doc_cab_main[d]] for d in dept_idx], dtype=object)
    return {
        "n": n, "age": age, "sex": sex, "byear": byear, "bmonth": bmonth, "birth": birth, "death": death,
        "nir": _strings_from_matrix(nir_mat), "idt": _strings_from_matrix(idt_mat), "rang": rang,
        "mt": mt, "mt_start": mt_start, "mt_change": mt_change, "mt_old": mt_old,
        "alt": alt, "alt_nir": _strings_from_matrix(alt_mat), "alt_switch": alt_switch, "dept": dept,
    }


def _write_referentials(w: Writers, P: dict, year: int) -> None:
    death = P["death"]
    dmask = death >= NEVER
    w.write("IR_BEN_R", {
        "BEN_NIR_PSA": P["nir"], "BEN_RNG_GEM": _int(P["rang"], pa.int16()), "BEN_IDT_ANO": P["idt"],
        "BEN_NAI_ANN": _int(P["byear"], pa.int16()), "BEN_NAI_MOI": _int(P["bmonth"], pa.int16()),
        "BEN_SEX_COD": _int(P["sex"], pa.int16()), "BEN_DCD_DTE": _dates(np.where(dmask, SENTINEL_DAY, death)),
        "BEN_RES_DPT": pa.array(P["dept"], type=pa.string()),
        "BEN_CDI_NIR": pa.array(["00"] * len(death), type=pa.string()),
    })
    a = np.flatnonzero(P["alt"])
    if len(a):
        w.write("IR_BEN_R", {
            "BEN_NIR_PSA": P["alt_nir"].take(pa.array(a)), "BEN_RNG_GEM": _int(np.ones(len(a)), pa.int16()),
            "BEN_IDT_ANO": P["idt"].take(pa.array(a)), "BEN_NAI_ANN": _int(P["byear"][a], pa.int16()),
            "BEN_NAI_MOI": _int(P["bmonth"][a], pa.int16()), "BEN_SEX_COD": _int(P["sex"][a], pa.int16()),
            "BEN_DCD_DTE": _dates(np.where(dmask[a], SENTINEL_DAY, death[a])),
            "BEN_RES_DPT": pa.array(P["dept"][a], type=pa.string()),
            "BEN_CDI_NIR": pa.array(["00"] * len(a), type=pa.string()),
        }, file="IR_BEN_R_ARC")  # the person's earlier NIR sits in the archived referential


def _dcir_tables(w: Writers, st: State, reg: Registry, P: dict, ev: dict, rng: np.random.Generator,
                 year: int) -> None:
    # lexicographic, deterministic order of original lines
    order = np.lexsort((ev["code"], ev["kind"], ev["nat"], ev["exe"], ev["day"], ev["pid"]))
    ev = {k: v[order] for k, v in ev.items()}
    n0 = len(ev["pid"])
    # documents: same patient, same day, same executant
    new = np.ones(n0, dtype=bool)
    if n0 > 1:
        new[1:] = (np.diff(ev["pid"]) != 0) | (np.diff(ev["day"]) != 0) | (np.diff(ev["exe"]) != 0)
    doc_no = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    prs_ord = (np.arange(n0) - starts[doc_no] + 1).astype(np.int32)
    dct = st.dct + 1 + doc_no.astype(np.int64)
    st.dct += int(new.sum())
    dpn = np.zeros(n0, dtype=np.int16)
    qty = ev["qty"].copy()
    amount = ev["amount"].copy()
    # quirks: duplicated-then-cancelled lines, partial regularisations, information lines
    u = rng.random(n0)
    dup = np.flatnonzero(u < P_DUP_CANCEL)
    part = np.flatnonzero((u >= P_DUP_CANCEL) & (u < P_DUP_CANCEL + P_PARTIAL))
    info = np.flatnonzero((u >= 0.5) & (u < 0.5 + P_INFO))
    taa = np.flatnonzero((u >= 0.6) & (u < 0.6 + P_TAA))
    extra_k = np.where(ev["kind"][part] == KIND_PHA, rng.integers(1, 3, len(part)), 1)
    qty[part] += extra_k  # the original line over-billed ...
    src = np.concatenate([dup, dup, part, info, taa])
    xqty = np.concatenate([qty[dup], -qty[dup], -extra_k, qty[info], qty[taa]]).astype(np.int32)
    xdpn = np.concatenate([np.zeros(2 * len(dup) + len(part), np.int16), np.full(len(info), 71, np.int16),
                           np.zeros(len(taa), np.int16)])
    m = len(src)
    xdct = st.dct + 1 + np.arange(m, dtype=np.int64)
    st.dct += m
    idx = np.concatenate([np.arange(n0), src])
    q_all = np.concatenate([qty, xqty])
    amt = np.concatenate([amount * qty / np.maximum(ev["qty"], 1), amount[src] * np.sign(xqty)])
    dct_all = np.concatenate([dct, xdct])
    prs_all = np.concatenate([prs_ord, np.ones(m, dtype=np.int32)])
    dpn_all = np.concatenate([dpn, xdpn])
    pid = ev["pid"][idx]
    dd = ev["day"][idx]
    kind = ev["kind"][idx]
    nat = ev["nat"][idx]
    exe = ev["exe"][idx]
    pre = ev["pre"][idx]
    code = ev["code"][idx]
    N = len(idx)
    # beneficiary keys (second NIR before the switch date)
    nir = P["nir"].take(pa.array(pid))
    use_alt = P["alt"][pid] & (dd < P["alt_switch"][pid])
    if use_alt.any():
        nir = pa.array(np.where(use_alt, P["alt_nir"].take(pa.array(pid)).to_numpy(zero_copy_only=False),
                                nir.to_numpy(zero_copy_only=False)), type=pa.string())
    rang = np.where(use_alt, 1, P["rang"][pid]).astype(np.int16)
    # médecin traitant in force at the care date
    mt_now = np.where(dd < P["mt_change"][pid], np.where(P["mt_change"][pid] < NEVER, P["mt_old"][pid],
                                                           P["mt"][pid]), P["mt"][pid])
    mt_now = np.where(dd >= P["mt_start"][pid], mt_now, -1)
    mt_row = np.where(mt_now >= 0, reg.doc_cab_main[np.maximum(mt_now, 0)], -1)
    lag = np.where(rng.random(N) < 0.85, 1, 2)
    flx = month_start_after(dd, lag)
    caisse = np.array([int(d) for d in reg.exe_dept], dtype=np.int32)
    emt_num = np.where(exe >= 0, caisse[np.maximum(exe, 0)] * 10 + 1, 11).astype(np.int32)
    org = pa.array([f"01C{d}1000" for d in reg.exe_dept], type=pa.string())
    key = {
        "FLX_DIS_DTD": _dates(flx), "FLX_TRT_DTD": _dates(flx),
        "FLX_EMT_TYP": _int(np.ones(N), pa.int16()), "FLX_EMT_NUM": _int(emt_num, pa.int32()),
        "FLX_EMT_ORD": _int(np.zeros(N), pa.int32()), "ORG_CLE_NUM": _take(org, np.maximum(exe, 0)),
        "DCT_ORD_NUM": _int(dct_all, pa.int64()), "PRS_ORD_NUM": _int(prs_all, pa.int32()),
        "REM_TYP_AFF": _int(np.ones(N), pa.int16()),
    }
    dtf = dd + ev["dtf"][idx]
    pre_date = np.where(np.isin(kind, (KIND_PHA, KIND_BIO)) | (pre >= 0), dd - rng.integers(0, 8, N), 0)
    prs = {
        "BEN_NIR_PSA": nir, "BEN_RNG_GEM": _int(rang, pa.int16()), **key,
        "EXE_SOI_DTD": _dates(dd), "EXE_SOI_DTF": _dates(dtf),
        "PRE_PRE_DTD": _dates(pre_date, pre_date == 0),
        "PRS_NAT_REF": _int(nat, pa.int32()), "PRS_ACT_QTE": _int(q_all, pa.int32()).cast(schema.QTY),
        "PFS_EXE_NUM": _take(st.pfs, exe), "PFS_PRE_NUM": _take(st.pfs, pre),
        "PRS_MTT_NUM": _take(st.pfs, mt_row), "PSE_SPE_COD": _take(st.spe, exe), "PSP_SPE_COD": _take(st.spe, pre),
        "DPN_QLF": _int(dpn_all, pa.int16()), "PRS_DPN_QLP": _int(dpn_all, pa.int16()),
        "CPL_MAJ_TOP": _int(np.zeros(N), pa.int16()),
        "EXO_MTF": _int(ev["exo"][idx], pa.int16()), "BSE_REM_MNT": _int(np.round(amt, 2), pa.float64()),
    }
    w.write("ER_PRS_F", prs)
    keytab = pa.table(key)

    def key_rows(rows: np.ndarray) -> dict[str, pa.Array]:
        cols = {k: v.take(pa.array(rows)) for k, v in zip(keytab.column_names, keytab.columns, strict=True)}
        return {k: v.combine_chunks() if isinstance(v, pa.ChunkedArray) else v for k, v in cols.items()}

    # hospital activity billed in DCIR: the repeated lines carry ER_ETE_F.ETE_IND_TAA = 1
    t_rows = n0 + 2 * len(dup) + len(part) + len(info) + np.arange(len(taa))
    w.write("ER_ETE_F", {**key_rows(t_rows), "ETE_IND_TAA": _int(np.ones(len(taa)), pa.int16())})
    for kval, name in ((KIND_PHA, "ER_PHA_F"), (KIND_BIO, "ER_BIO_F"), (KIND_CAM, "ER_CAM_F")):
        s = np.flatnonzero(kind == kval)
        if kval == KIND_PHA:
            # several detail lines under one prestation line (PHA_ORD_NUM 1, 2): a delivery
            # of k >= 2 boxes is written as k-1 boxes + 1 box of the same CIP13
            q = q_all[s]
            split = q >= 2
            rows = np.concatenate([s, s[split]])
            order = np.argsort(rows, kind="stable")
            qsn = np.concatenate([np.where(split, q - 1, q), np.ones(int(split.sum()), np.int64)])[order]
            ordn = np.concatenate([np.ones(len(s), np.int16), np.full(int(split.sum()), 2, np.int16)])[order]
            rows = rows[order]
            cols = key_rows(rows)
            cols.update({"PHA_PRS_C13": _int(code[rows], pa.int64()), "PHA_ACT_QSN": _int(qsn, pa.int32()),
                         "PHA_SEQ_RNV": _int(np.zeros(len(rows)), pa.int16()),
                         "PHA_ORD_NUM": _int(ordn, pa.int16())})
            w.write(name, cols)
            continue
        cols = key_rows(s)
        if kval == KIND_BIO:
            cols.update({"BIO_PRS_IDE": _int(code[s], pa.int32()), "BIO_ACT_QSN": _int(q_all[s], pa.int32())})
        else:
            vocab = np.empty(len(st.ccam_vocab), dtype=object)
            for c, i in st.ccam_vocab.items():
                vocab[i] = c
            cols.update({"CAM_PRS_IDE": pa.array(vocab[code[s]], type=pa.string()),
                         "CAM_ACT_COD": pa.array(["1"] * len(s), type=pa.string()),
                         "CAM_TRT_PHA": _int(np.zeros(len(s)), pa.int16())})
        w.write(name, cols)


def _box_ground_truth(gt: GroundTruth, reg: Registry, ev: dict, year: int) -> None:
    """CAR-08 / CAR-09: boxes prescribed by cardiologists in N, in the répertoire."""
    ref = codes.pha_referential()
    lo, hi = day(year), day(year + 1)
    s = (ev["kind"] == KIND_PHA) & (ev["day"] >= lo) & (ev["day"] < hi) & (ev["pre"] >= 0)
    if not s.any():
        return
    pre_doc = reg.exe_doctor[ev["pre"][s]]
    card = (pre_doc >= 0) & (reg.doc_spe[np.maximum(pre_doc, 0)] == 3)
    cip = ev["code"][s][card]
    qty = ev["qty"][s][card]
    doc = pre_doc[card]
    pos = np.searchsorted(ref["PHA_CIP_C13"], cip)
    in_rep = ref["PHA_GRS_NUM"][pos] >= 0
    for ind, pools in (("CAR-08", ("diuretics", "beta_blockers", "calcium_blockers", "ace_inhibitors", "sartans")),
                       ("CAR-09", ("statins",))):
        member = np.isin(cip, np.concatenate([codes.drug_pool(p).cip for p in pools]))
        gt.add(ind, doc[member], in_rep[member], weight=qty[member])


def _pmsi_tables(w: Writers, st: State, P: dict, pmsi: PmsiBuffer, rng: np.random.Generator) -> None:
    if not pmsi.stays:
        return
    stays = sorted(pmsi.stays, key=lambda s: (s[0], s[1], s[3]))
    B: dict[str, list] = {k: [] for k in ("ETA_NUM", "RSA_NUM", "DGN_PAL", "DGN_REL", "GRG_GHM", "SOR_ANN", "SOR_MOI")}
    Cc: dict[str, list] = {k: [] for k in ("ETA_NUM", "RSA_NUM", "NIR_ANO_17", "EXE_SOI_DTD", "EXE_SOI_DTF")}
    D: dict[str, list] = {k: [] for k in ("ETA_NUM", "RSA_NUM", "ASS_DGN", "_year")}
    A: dict[str, list] = {k: [] for k in ("ETA_NUM", "RSA_NUM", "CDC_ACT", "ENT_DAT_DEL", "NBR_EXE_ACT", "_year")}
    nir = P["nir"].to_pylist()
    eta_idx = rng.integers(0, len(st.finess), len(stays))
    years = []
    for i, (pid, entry, los, dp, dr, das, acts) in enumerate(stays):
        exit_ = entry + los
        ex = np.datetime64(int(exit_), "D").astype(object)
        # one PMSI table per year of exit (T_MCO18B...); RSA numbers restart every year
        st.rsa[ex.year] = st.rsa.get(ex.year, 0) + 1
        eta, rsa = st.finess[int(eta_idx[i])], f"{st.rsa[ex.year]:010d}"
        years.append(ex.year)
        B["ETA_NUM"].append(eta)
        B["RSA_NUM"].append(rsa)
        B["DGN_PAL"].append(dp)
        B["DGN_REL"].append(dr)
        B["GRG_GHM"].append(None)
        B["SOR_ANN"].append(ex.year)
        B["SOR_MOI"].append(ex.month)
        Cc["ETA_NUM"].append(eta)
        Cc["RSA_NUM"].append(rsa)
        Cc["NIR_ANO_17"].append(nir[pid])
        Cc["EXE_SOI_DTD"].append(entry)
        Cc["EXE_SOI_DTF"].append(exit_)
        for dgn in das:
            D["ETA_NUM"].append(eta)
            D["RSA_NUM"].append(rsa)
            D["ASS_DGN"].append(dgn)
            D["_year"].append(ex.year)
        for code, delay in acts:
            A["ETA_NUM"].append(eta)
            A["RSA_NUM"].append(rsa)
            A["CDC_ACT"].append(code)
            A["ENT_DAT_DEL"].append(delay)
            A["NBR_EXE_ACT"].append(1)
            A["_year"].append(ex.year)
    B["_year"] = Cc["_year"] = years

    def arrays(d: dict, name: str, sel: np.ndarray) -> dict[str, pa.Array]:
        sch = schema.TABLES[name].arrow_schema()
        out = {}
        for f in sch:
            if f.name not in d:
                continue  # optional column (return codes...): written as nulls
            vals = [d[f.name][i] for i in sel]
            if f.type == pa.date32():
                out[f.name] = _dates(np.array(vals, dtype=np.int64))
            else:
                out[f.name] = pa.array(vals, type=f.type)
        return out

    for letter, d in (("B", B), ("C", Cc), ("D", D), ("A", A)):
        yrs = np.array(d["_year"], dtype=np.int64)
        for y in sorted(set(yrs.tolist())):
            sel = np.flatnonzero(yrs == y)
            w.write(f"T_MCOaa{letter}", arrays(d, f"T_MCOaa{letter}", sel), file=f"T_MCO{y % 100:02d}{letter}")


def _ald_table(w: Writers, P: dict, ald: AldBuffer) -> None:
    rows = sorted(set(ald.rows), key=lambda r: (r[0], r[2], r[4], r[1]))
    # primary key (NIR, rang, start, icd): drop duplicates
    seen: set = set()
    keep = []
    for r in rows:
        k = (r[0], r[2], r[4])
        if k not in seen:
            seen.add(k)
            keep.append(r)
    if not keep:
        return
    pid = np.array([r[0] for r in keep], dtype=np.int64)
    dtd = np.array([r[2] for r in keep], dtype=np.int64)
    # renewals (IR_IMB_R has no key): a share of exonerations first appear with a 5-year end,
    # superseded by the current, open version (01/01/1600) inserted at the renewal
    renewed = np.array([(int(r[0]) * 7919 + int(r[2])) % 1000 < P_ALD_RENEWAL * 1000 for r in keep])
    rows = np.concatenate([np.flatnonzero(renewed), np.arange(len(keep))])
    first = np.concatenate([np.ones(int(renewed.sum()), bool), np.zeros(len(keep), bool)])
    renewal_day = dtd[rows] + 5 * 365
    w.write("IR_IMB_R", {
        "BEN_NIR_PSA": P["nir"].take(pa.array(pid[rows])), "BEN_RNG_GEM": _int(P["rang"][pid[rows]], pa.int16()),
        "IMB_ALD_NUM": pa.array([keep[i][1] for i in rows], type=pa.int16()),
        "IMB_ALD_DTD": _dates(dtd[rows]),
        "IMB_ALD_DTF": _dates(np.where(first, renewal_day, SENTINEL_DAY)),
        "IMB_ETM_NAT": pa.array([41] * len(rows), type=pa.int16()),
        "MED_MTF_COD": pa.array([keep[i][4] for i in rows], type=pa.string()),
        "INS_DTE": _dates(np.where(first | ~renewed[rows], dtd[rows], renewal_day)),
        "UPD_DTE": _dates(np.where(first | ~renewed[rows], dtd[rows], renewal_day)),
    })


#: Synthetic assumption: the declared rates of N-1 (declared starting rates) of the
#: indicators whose rate is drawn around 0.8 + 0.2 × Beta(2, 1.2) in N are drawn this
#: much lower (a doctor improves on what he declares); docs/synth.md "History".
PREV_DECLARED_SHIFT = 0.06


def _declarations(gt: GroundTruth, reg: Registry, extra: dict[str, np.ndarray], seed: int,
                  year: int | None = None, shift: float = 0.0) -> list[tuple[str, str, int, int, int | None]]:
    """ROSP_DECL rows for declarative indicators (+ CAR-07 / GAS-07, not observable in
    claims), for `year` (None = the payment year, DECL_ANN left empty). `gt` gets the
    declared counts of the declarative indicators (the ground truth of that year)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7_000_003] + ([year] if year is not None else [])))
    rows: list[tuple[str, str, int, int, int | None]] = []
    sta = reg.doc_sta
    for ind, groups in (("ENF-03", ("gp", "paediatrician")), ("ENF-08", ("gp", "paediatrician")),
                        ("ENF-09", ("gp", "paediatrician")), ("CAR-07", ("cardiologist",)),
                        ("GAS-07", ("gastroenterologist",)), ("GAS-08", ("gastroenterologist",)),
                        ("END-02", ("endocrinologist",)), ("END-05", ("endocrinologist",))):
        spec = calibration.SPEC_BY_ID[ind]
        i = calibration.INDEX[ind]
        for d in np.flatnonzero(np.isin(reg.doc_group, groups)):
            if ind in extra:
                den = int(extra[ind][d])
            elif ind == "END-05":
                den = int(rng.poisson(8))
            else:
                den = int(gt.den[i][d])
            if den == 0:
                continue
            if ind in ("CAR-07", "GAS-07"):
                num = int(gt.num[i][d])
            else:
                r = float(reg.doc_rates[i][d]) if spec.lower_is_better else float(
                    np.clip(0.8 - shift + 0.2 * rng.beta(2.0, 1.2) + rng.normal(0, 0.03), 0.5, 1.0))
                num = int(round(r * den))
                if spec.declarative:
                    gt.num[i][d] = num
                    gt.den[i][d] = den
            rows.append((sta[d], ind, num, den, year))
    return rows


def _declaration_table(rows: list[tuple[str, str, int, int, int | None]]) -> dict[str, pa.Array]:
    rows = sorted(rows, key=lambda r: (r[0], r[1], -1 if r[4] is None else r[4]))
    return {
        "STA_PFS_NUM": pa.array([r[0] for r in rows], type=pa.string()),
        "INDICATOR_ID": pa.array([r[1] for r in rows], type=pa.string()),
        "DECL_NUM": pa.array([r[2] for r in rows], type=pa.int32()),
        "DECL_DEN": pa.array([r[3] for r in rows], type=pa.int32()),
        "DECL_RATE": pa.array([r[2] / r[3] for r in rows], type=pa.float64()),
        "DECL_ANN": pa.array([r[4] for r in rows], type=pa.int16()),
    }


def generate(patients: int, seed: int, year: int, out_dir: Path, progress: Progress | None = None,
             year_before: bool = True) -> SynthSummary:
    """Write a synthetic SNDS extract (one Parquet per schema table) into `out_dir`.

    The claims reach back as far as the definitions' windows (the loader's
    `load_periods`). With `year_before` (default) the scenarios are also played on
    N-1 for the same patients, so that `rosp run --year N` measures its own starting
    rates on N-1 from this one extract; `ground_truth.csv` stays the world of N
    decided by the pass of N, and `ground_truth_previous.csv` holds that of N-1.
    Without it the extract is the world of N alone, which the engine must reproduce
    exactly (tests/synth: the carried-over N-1 cohort legitimately enters N's
    look-back windows, so with it engine counts and ground truth of N differ)."""
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    reg = build_registry(patients, seed, year)
    st = State(reg)
    gt = GroundTruth(reg.n_doctors)
    w = Writers(out_dir)
    # claims from the load start of each family (the definitions' windows): PMSI from
    # N-10 for END-03's thyroidectomy, DCIR from the earliest DCIR window
    floors = {f: load_start(year, f) for f in ("DCIR", "PMSI")}
    w.pmsi_years = tuple(range(_year_of(floors["PMSI"]), year + 1))
    prev_reg = _previous_year_registry(reg, seed, year)
    prev_gt = GroundTruth(reg.n_doctors)
    # children counts per MT for the declarative denominators (ENF-03 <16, ENF-08 4-12 months, ENF-09 3-5 y)
    extra = {k: np.zeros(reg.n_doctors, dtype=np.int64) for k in ("ENF-03", "ENF-08", "ENF-09")}
    extra_prev = {k: np.zeros(reg.n_doctors, dtype=np.int64) for k in extra}
    n_chunks = max(1, -(-patients // CHUNK))
    END = day(year + 1)
    for ci in range(n_chunks):
        g0 = ci * CHUNK
        n = min(CHUNK, patients - g0)
        rng = np.random.default_rng(np.random.SeedSequence([seed, year, ci]))
        P = _patients(rng, n, g0, year, seed, reg)
        _write_referentials(w, P, year)
        pid, doc, dtd, dtf = _mtt_rows(P)
        w.write("IR_MTT_R", {
            "BEN_NIR_PSA": P["nir"].take(pa.array(pid)), "BEN_RNG_GEM": _int(P["rang"][pid], pa.int16()),
            "MTT_PFS_NUM": pa.array([reg.pfs[reg.doc_cab_main[d]] for d in doc], type=pa.string()),
            "MTT_DEP_DTE": _dates(dtd), "MTT_FIN_DTE": _dates(np.where(dtf >= NEVER, SENTINEL_DAY, dtf)),
        })
        dcir, pmsi, ald = DcirBuffer(), PmsiBuffer(), AldBuffer()
        ctx = Ctx(rng=rng, reg=reg, gt=gt, ccam_vocab=st.ccam_vocab, year=year, n=n, age=P["age"], sex=P["sex"],
                  birth=P["birth"].astype(np.int64), death=P["death"], mt_doc=P["mt"], dcir=dcir, pmsi=pmsi, ald=ald,
                  floors=floors)
        for scenario in SCENARIOS:
            scenario(ctx)
        # the year before, same patients: the care of N-1 that the starting rates are
        # measured on (avenant 6 reset them on N-1, docs/synth.md "History")
        prev = _previous_year_pass(P, reg, prev_reg, prev_gt, st, seed, year, ci, floors, ald) if year_before else None
        ev = dcir.concat()
        if prev is not None:
            pev, pstays, p_mt, p_consumer, p_death = prev
            # the declared populations of N-1, as for N below (at 31/12/N-1)
            end_prev = day(year)
            alive_prev = (p_death >= end_prev) & (p_mt >= 0) & p_consumer & (P["birth"] < end_prev)
            m_prev = (end_prev - P["birth"]) / 30.44
            age_prev = np.maximum(P["age"] - 1, 0)
            for k, mask in (("ENF-03", age_prev < 16), ("ENF-08", (m_prev >= 4) & (m_prev < 12)),
                            ("ENF-09", (age_prev >= 3) & (age_prev <= 5))):
                sel = alive_prev & mask
                extra_prev[k] += np.bincount(p_mt[sel], minlength=reg.n_doctors)
            ev = {k: np.concatenate([ev[k], pev[k]]) for k in ev}
            pmsi.stays.extend(pstays)
        keep = ((ev["day"] >= floors["DCIR"]) & (ev["day"] < END) & (ev["day"] >= P["birth"][ev["pid"]])
                & (ev["day"] <= P["death"][ev["pid"]]))
        ev = {k: v[keep] for k, v in ev.items()}
        consumer = np.zeros(n, dtype=bool)
        consumer[ev["pid"][(ev["day"] >= ctx.Y2) & (ev["qty"] > 0)]] = True
        ctx.flush_gt(consumer)
        _box_ground_truth(gt, reg, ev, year)
        # declared populations: the doctor's MT children of the "consommante" patientèle
        # (>= 1 reimbursed care in N), the population claims compute (method.md §1), so
        # that a declaration does not exceed it and get rejected
        alive_mt = (P["death"] >= END) & (P["mt"] >= 0) & consumer
        months = (END - P["birth"]) / 30.44
        for k, mask in (("ENF-03", P["age"] < 16), ("ENF-08", (months >= 4) & (months < 12)),
                        ("ENF-09", (P["age"] >= 3) & (P["age"] <= 5))):
            sel = alive_mt & mask
            extra[k] += np.bincount(P["mt"][sel], minlength=reg.n_doctors)
        _dcir_tables(w, st, reg, P, ev, rng, year)
        pmsi.stays = [s for s in pmsi.stays
                      if floors["PMSI"] <= s[1] < END and s[1] + s[2] <= P["death"][s[0]]]
        _pmsi_tables(w, st, P, pmsi, rng)
        _ald_table(w, P, ald)
        if progress is not None:
            progress(g0 + n, patients)
    # doctor register, drug referential, declarations
    _da_pra_tables(w, reg.da_pra_rows, year)
    ref = codes.pha_referential()
    grs = ref["PHA_GRS_NUM"]
    w.write("IR_PHA_R", {
        "PHA_CIP_C13": pa.array(ref["PHA_CIP_C13"], type=pa.int64()),
        "PHA_ATC_C07": pa.array(ref["PHA_ATC_C07"], type=pa.string()),
        "PHA_GRS_NUM": pa.array(np.where(grs < 0, 0, grs), type=pa.int32(), mask=grs < 0),
        "PHA_CND_TOP": pa.array(ref["PHA_CND_TOP"], type=pa.string()),
        "PHA_MED_NOM": pa.array(ref["PHA_MED_NOM"], type=pa.string()),
    })
    decl_rows = _declarations(gt, reg, extra, seed)
    if year_before:  # the declarations for N-1: the declared starting rates (DECL_ANN = N-1)
        decl_rows += _declarations(prev_gt, prev_reg, extra_prev, seed, year - 1, PREV_DECLARED_SHIFT)
    w.write("ROSP_DECL", _declaration_table(decl_rows))
    w.close()
    # calibration report + ground truth
    programmes = {p: np.flatnonzero(np.isin(reg.doc_group, g)) for p, g in PROGRAMME_GROUPS.items()}
    table = calibration.percentile_table(gt, programmes)
    start_rows = calibration.start_rate_rows(prev_gt, programmes, year - 1) if year_before else None
    (out_dir / "calibration.md").write_text(
        calibration.render_markdown(table, patients, seed, year, start_rows=start_rows), encoding="utf-8")
    truths = [("ground_truth.csv", gt)] + ([("ground_truth_previous.csv", prev_gt)] if year_before else [])
    for name, truth in truths:
        with (out_dir / name).open("w", newline="", encoding="utf-8") as fh:
            cw = csv.writer(fh, lineterminator="\n")
            cw.writerow(["doctor_id", "indicator_id", "numerator", "denominator"])
            for i, spec in enumerate(calibration.SPECS):
                for d in programmes[spec.programme]:
                    if truth.den[i][d] > 0:
                        cw.writerow([reg.doc_sta[d], spec.id, int(truth.num[i][d]), int(truth.den[i][d])])
    summary = SynthSummary(patients=patients, seed=seed, year=year, out_dir=out_dir, doctors=reg.n_doctors,
                           rows=dict(w.rows), seconds=time.perf_counter() - t0,
                           files=sorted(out_dir.glob("*.parquet")) + [out_dir / "calibration.md"]
                           + [out_dir / name for name, _ in truths])
    return summary


# ------------------------------------------------------------ the year before
#: Synthetic assumption (not a rule of the texts): doctors' expected rates move
#: between N-1 and N by a per-doctor, per-indicator step on the logit scale, drawn
#: from a normal law of this mean and spread (positive = better in N). With these
#: values about three in five doctors improve, so the progression branch of
#: Annexe 4 (30 % × progression from D) has rows to pay. docs/synth.md "History".
PREV_DRIFT_MEAN, PREV_DRIFT_SD = 0.25, 0.45


def _year_of(day_number: int) -> int:
    return int(np.datetime64(int(day_number), "D").astype("datetime64[Y]").astype(np.int64)) + 1970


def _previous_year_registry(reg: Registry, seed: int, year: int) -> Registry:
    """The same doctors with their expected rates of N-1 (`PREV_DRIFT_MEAN`, `PREV_DRIFT_SD`)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, year, 7_100_001]))
    r = np.clip(reg.doc_rates, 1e-6, 1 - 1e-6)
    sign = np.array([-1.0 if s.lower_is_better else 1.0 for s in calibration.SPECS])[:, None]
    step = PREV_DRIFT_MEAN + PREV_DRIFT_SD * rng.standard_normal(r.shape)
    prev = 1.0 / (1.0 + np.exp(-(np.log(r / (1 - r)) - sign * step)))
    return dataclasses.replace(reg, doc_rates=prev)


def _previous_year_pass(P: dict, reg: Registry, prev_reg: Registry, prev_gt: GroundTruth, st: State, seed: int,
                        year: int, ci: int, floors: dict[str, int], ald: AldBuffer):
    """The scenarios of N-1 on the same patients (ages, médecin traitant and vital
    status at 31/12/N-1): their claims and stays of N-2 and N-1 (the specialist
    patientèle of N-1 counts contacts over N-2..N-1; older history is left to the pass
    of N, so the cohort of N-1 weighs little on N's look-back windows), and the ground
    truth of N-1 in `prev_gt` (the starting rates the engine should measure)."""
    y = year - 1
    end_prev = day(year)
    birth = P["birth"].astype(np.int64)
    born = birth < end_prev
    death = np.where(born, P["death"], birth - 1)  # not yet born: no care in N-1
    last = end_prev - 1
    changed = (P["mt_change"] < NEVER) & (last < P["mt_change"])
    mt = np.where(changed, P["mt_old"], P["mt"])
    mt = np.where((P["mt"] >= 0) & (P["mt_start"] <= last) & born, mt, -1)
    rng = np.random.default_rng(np.random.SeedSequence([seed, year, ci, 1]))
    dcir, pmsi = DcirBuffer(), PmsiBuffer()
    ctx = Ctx(rng=rng, reg=prev_reg, gt=prev_gt, ccam_vocab=st.ccam_vocab, year=y, n=P["n"],
              age=np.maximum(P["age"] - 1, 0), sex=P["sex"], birth=birth, death=death, mt_doc=mt,
              dcir=dcir, pmsi=pmsi, ald=ald, floors=floors, followup_end=day(year + 1))
    for scenario in SCENARIOS:
        if scenario not in (background, specialist_patienteles):  # N writes the contacts of N-1
            scenario(ctx)
    ev = dcir.concat()
    # besides N-2..N-1, the history older than anything N's definitions read (END-03's
    # 2007 for a starting rate of 2017): only the measure on N-1 reads it, so N's
    # look-back windows are untouched (issue 7 §2)
    n_reach = {f: history_start(year, f) for f in ("DCIR", "PMSI")}
    # and the follow-up in N of anchors of N-1 that N's windows count too (GAS-01/02's
    # imaging and CEA after a surgery of N-1, CAR-01's post-MI treatments): the claims
    # a pass writes after its own year are exactly these follow-ups
    keep = (((ev["day"] >= ctx.Y1) | (ev["day"] < n_reach["DCIR"])) & (ev["day"] < day(year + 1))
            & (ev["day"] >= birth[ev["pid"]]) & (ev["day"] <= death[ev["pid"]]))
    ev = {k: v[keep] for k, v in ev.items()}
    own = ev["day"] < end_prev
    consumer = np.zeros(P["n"], dtype=bool)
    consumer[ev["pid"][(ev["day"] >= ctx.Y2) & own & (ev["qty"] > 0)]] = True
    ctx.flush_gt(consumer)
    _box_ground_truth(prev_gt, prev_reg, {k: v[own] for k, v in ev.items()}, y)
    stays = [s for s in pmsi.stays
             if (ctx.Y1 <= s[1] or s[1] + s[2] < n_reach["PMSI"]) and s[1] + s[2] < end_prev and born[s[0]]]
    return ev, stays, mt, consumer, death


def _da_pra_tables(w: Writers, rows: list[dict], year: int) -> None:
    """DA_PRA_R as in SNDS (one row per cabinet and month of N, CNV_CNV_COD per IR_CNV_V,
    installation date) and the caisse's administrative file ROSP_ADM (opt-outs, CAPI)."""
    months = np.arange(1, 13)
    n = len(rows)
    rep = np.repeat(np.arange(n), len(months))
    # conventioned cabinets: sector 1 ('1') or, for a share, sector 2 ('2'); else '0'
    cnv = np.array([("2" if i % int(1 / P_SECTOR2) == 0 else "1") if r["CNV_TOP"] == 1 else "0"
                    for i, r in enumerate(rows)], dtype=object)
    w.write("DA_PRA_R", {
        "PFS_PFS_NUM": pa.array([rows[i]["PFS_PFS_NUM"] for i in rep], type=pa.string()),
        "STA_PFS_NUM": pa.array([rows[i]["STA_PFS_NUM"] for i in rep], type=pa.string()),
        "PFS_PRA_SPE": pa.array([rows[i]["PFS_PRA_SPE"] for i in rep], type=pa.int16()),
        "CNV_CNV_COD": pa.array(cnv[rep].tolist(), type=pa.string()),
        "PFS_INS_DSD": _dates(np.array([rows[i]["INS_DTE"] for i in rep])),
        "DTE_ANN_TRT": _int(np.full(len(rep), year), pa.int16()),
        "DTE_MOI_FIN": _int(np.tile(months, n), pa.int16()),
    })
    adm: dict[str, tuple] = {}
    for r in rows:
        if r["ROSP_OPT_OUT_DTE"] is not None or r["CAPI_SIG_DTE"] is not None:
            adm.setdefault(r["STA_PFS_NUM"], (r["ROSP_OPT_OUT_DTE"], r["CAPI_SIG_DTE"]))
    sta = sorted(adm)
    w.write("ROSP_ADM", {
        "STA_PFS_NUM": pa.array(sta, type=pa.string()),
        "ROSP_OPT_OUT_DTE": pa.array([adm[k][0] for k in sta], type=pa.int32()).cast(pa.date32()),
        "CAPI_SIG_DTE": pa.array([adm[k][1] for k in sta], type=pa.int32()).cast(pa.date32()),
    })


def _mtt_rows(P: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    mt, start, change, old, death = P["mt"], P["mt_start"], P["mt_change"], P["mt_old"], P["death"]
    has = mt >= 0
    ch = has & (change < NEVER)
    pid = np.concatenate([np.flatnonzero(ch), np.flatnonzero(has)])
    doc = np.concatenate([old[ch], mt[has]])
    dtd = np.concatenate([start[ch], np.where(ch, change, start)[has]])
    dtf = np.concatenate([change[ch], death[has]])
    order = np.lexsort((dtd, pid))
    return pid[order], doc[order], dtd[order], dtf[order]
