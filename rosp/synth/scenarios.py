"""Clinical scenarios: vectorised per chunk of patients.

Each scenario picks its patients, the doctor who follows them, and emits the
claims (DCIR lines with their detail, PMSI stays, ALD periods). Where an
indicator is computed from those claims, the probability of meeting its
numerator is the expected rate of the deciding doctor (see calibration.py), and
the simulated membership is recorded in the ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rosp.synth import codes as C
from rosp.synth.calibration import INDEX, GroundTruth
from rosp.synth.events import KIND_BIO, KIND_CAM, KIND_PHA, AldBuffer, DcirBuffer, PmsiBuffer
from rosp.synth.population import INHABITANTS_PER_DOCTOR, PATIENTELE_MEAN, Registry, day


def load_start(year: int, family: str) -> int:
    """First care day the claims loader accepts for a run of ``year`` in a table family
    (``rosp.claims.windows.load_periods``: the earliest window of the definitions that
    read the family, never later than the default history). The generator writes no
    claim before it, so the extract loads without rejects, and as far back as it, so
    that no window is cut (END-03 reads ten years of PMSI)."""
    from rosp.claims.windows import load_periods

    d = load_periods(year)[family][0]
    return day(d.year, d.month, d.day)


def history_start(year: int, family: str) -> int:
    """First day of history the definitions read for ``year`` (``earliest_read_dates``)."""
    from rosp.indicators.definitions import earliest_read_dates

    d = earliest_read_dates(year)[family]
    return day(d.year, d.month, d.day)


NAT_C, NAT_CS, NAT_C2 = 1111, 1112, 1117
NAT_PH1, NAT_PH4, NAT_PH7 = 3311, 3312, 3313
NAT_BIO = 3211
NAT_ATM, NAT_ADI, NAT_ADE = 1352, 1351, 1324
NAT_ROR, NAT_POD, NAT_AMI, NAT_BDC, NAT_KIT, NAT_DCC = 3332, 3134, 3111, 9421, 1163, 9434


@dataclass
class Ctx:
    rng: np.random.Generator
    reg: Registry
    gt: GroundTruth
    ccam_vocab: dict[str, int]
    year: int
    # patients of the chunk
    n: int
    age: np.ndarray  # years at 31/12/N
    sex: np.ndarray
    birth: np.ndarray  # day number (15th of birth month)
    death: np.ndarray  # day number or NEVER
    mt_doc: np.ndarray  # doctor index at 31/12/N or -1
    dcir: DcirBuffer
    pmsi: PmsiBuffer
    ald: AldBuffer
    #: first day of claims the table writer keeps, per family ("DCIR", "PMSI"): the
    #: load start of the extract's year (``load_start``), which for the pass of the
    #: year before (starting rates) is later than its own definitions' reach
    floors: dict[str, int] | None = None
    #: the pass of the year before: last day (exclusive) of the follow-up, in N, of its
    #: patients whose anchoring event N's windows count too (post-MI treatments for
    #: CAR-01 after an infarction in N-2..N-1); None for the pass of N
    followup_end: int | None = None

    def __post_init__(self) -> None:
        y = self.year
        self.Y0, self.Y1, self.Y2, self.END = day(y - 2), day(y - 1), day(y), day(y + 1)
        self.alive = self.death >= self.END  # alive at the end of N (GT excludes deceased)
        # age in whole months at 31/12/N (birth on the 15th of the birth month)
        bm = self.birth.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
        self.age_months = (y - 1970) * 12 + 11 - bm
        self.pending: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []
        if self.floors is None:
            self.floors = {f: load_start(y, f) for f in ("DCIR", "PMSI")}

    def hist(self, family: str, years_back: int | None = None) -> int:
        """First day of history for a table family: what the definitions read
        (bounded by ``years_back`` calendar years before N), never before what the
        loader accepts and the table writer keeps."""
        d = history_start(self.year, family)
        if years_back is not None:
            d = max(d, day(self.year - years_back))
        return max(d, int(self.floors[family]))

    # ---------------------------------------------------------------- helpers
    def age_months_at(self, pids, days) -> np.ndarray:
        """Age in whole months at each day (birth on the 15th, as the engine computes it)."""
        b = self.birth[np.asarray(pids)].astype("datetime64[D]")
        d = np.asarray(days).astype("datetime64[D]")
        months = d.astype("datetime64[M]").astype(np.int64) - b.astype("datetime64[M]").astype(np.int64)
        dom = (d - d.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
        return months - (dom < 15)

    def gt_mt(self, ind: str, pids, doctors, in_num) -> None:
        """Ground truth for a "patients MT" indicator, kept once the chunk's claims
        are known: the patientèle is "consommante" (>= 1 reimbursed care in N)."""
        self.pending.append((ind, np.asarray(pids), np.asarray(doctors), np.asarray(in_num)))

    def flush_gt(self, consumer: np.ndarray) -> None:
        for ind, pids, doctors, in_num in self.pending:
            keep = consumer[pids]
            self.gt.add(ind, doctors[keep], in_num[keep])
        self.pending.clear()

    def spec(self, group: str, pids: np.ndarray) -> np.ndarray:
        """The specialist of `group` who follows each patient (one per patient and
        specialty for the whole chunk, so that a patient in two scenarios of the
        same specialty is followed by the same doctor)."""
        pref = self.__dict__.setdefault("_pref", {})
        if group not in pref:
            pref[group] = self.reg.sample(self.rng, group, self.n)
        return pref[group][np.asarray(pids)]

    def days(self, lo, hi, n: int | None = None) -> np.ndarray:
        lo = np.asarray(lo, dtype=np.int64)
        hi = np.asarray(hi, dtype=np.int64)
        if n is None:
            n = max(lo.size, hi.size)
        lo = np.broadcast_to(lo, (n,))
        hi = np.broadcast_to(hi, (n,))
        return (lo + np.floor(self.rng.random(n) * np.maximum(hi - lo, 1))).astype(np.int32)

    def pick(self, mask: np.ndarray, p) -> np.ndarray:
        """Indices of patients in `mask` selected with probability p."""
        return np.flatnonzero(mask & (self.rng.random(self.n) < p))

    def rate(self, ind: str, doctors: np.ndarray) -> np.ndarray:
        return self.reg.doc_rates[INDEX[ind]][np.asarray(doctors)]

    def bern(self, p) -> np.ndarray:
        p = np.asarray(p, dtype=float)
        return self.rng.random(p.shape) < p

    def ccam(self, name: str, n: int) -> np.ndarray:
        pool = C.str_codes(name)
        chosen = pool[self.rng.integers(0, len(pool), n)]
        return np.array([self.ccam_vocab.setdefault(c, len(self.ccam_vocab)) for c in chosen], dtype=np.int64)

    def icd(self, name: str, n: int) -> np.ndarray:
        pool = C.str_codes(name)
        return pool[self.rng.integers(0, len(pool), n)]

    def nabm(self, name: str, n: int) -> np.ndarray:
        pool = C.int_codes(name)
        return pool[self.rng.integers(0, len(pool), n)].astype(np.int64)

    def prescriber(self, pids: np.ndarray, spec: np.ndarray, p_spec: float) -> np.ndarray:
        """Spec doctor with probability p_spec, else the patient's MT (or spec)."""
        mt = self.mt_doc[pids]
        use_spec = (self.rng.random(len(pids)) < p_spec) | (mt < 0)
        return np.where(use_spec, spec, mt)

    # ----------------------------------------------------------- emitters
    def consult(self, pids, days, doctors, nat=None) -> None:
        if len(pids) == 0:
            return
        doctors = np.asarray(doctors)
        if nat is None:
            spe = self.reg.doc_spe[doctors]
            nat = np.where(np.isin(spe, (1, 22, 23)), NAT_C, np.where(self.rng.random(len(pids)) < 0.2,
                                                                       NAT_C2, NAT_CS))
        self.dcir.add(pids, days, nat, self.reg.cabinet(self.rng, doctors))

    def drug(self, pids, days, pool_name: str, prescribers, idx=None, qty=None, nat=NAT_PH7, exo=0) -> None:
        n = len(pids)
        if n == 0:
            return
        pool = C.drug_pool(pool_name)
        if idx is None:
            idx = pool.pick(self.rng, n)
        if qty is None:
            qty = np.where(self.rng.random(n) < 0.1, 2, 1)
        amount = np.round(self.rng.uniform(3.0, 60.0, n), 2)
        self.dcir.add(pids, days, nat, self.reg.other(self.rng, "pharmacy", n),
                      pre=self.reg.cabinet(self.rng, prescribers), qty=qty, kind=KIND_PHA,
                      code=pool.cip[idx], exo=exo, amount=amount)

    def chronic(self, pids, pool_name: str, start, end, prescribers, in_rep=None, nat=NAT_PH7, exo=0,
                period_normal: int = 30) -> None:
        """Regular deliveries of one product per patient between start and end:
        every ~90 days for large packs (GC), every ~`period_normal` days otherwise."""
        m = len(pids)
        if m == 0:
            return
        pool = C.drug_pool(pool_name)
        idx = pool.pick(self.rng, m, in_rep)
        start = np.broadcast_to(np.asarray(start, dtype=np.int64), (m,))
        end = np.broadcast_to(np.asarray(end, dtype=np.int64), (m,))
        period = np.where(pool.large_pack[idx], 90, period_normal).astype(np.int64)
        first = start + (self.rng.random(m) * period).astype(np.int64)
        k = np.maximum((end - 1 - first) // period + 1, 0)
        tot = int(k.sum())
        if tot == 0:
            return
        rep = np.repeat(np.arange(m), k)
        rank = np.arange(tot) - np.repeat(np.cumsum(k) - k, k)
        days = first[rep] + rank * period[rep] + self.rng.integers(-3, 4, tot)
        days = np.clip(days, start[rep], end[rep] - 1)
        pres = np.asarray(prescribers)[rep]
        self.drug(np.asarray(pids)[rep], days, pool_name, pres, idx=idx[rep], nat=nat, exo=exo)

    def bio(self, pids, days, pool_name: str, prescribers, codes=None) -> None:
        n = len(pids)
        if n == 0:
            return
        if codes is None:
            codes = self.nabm(pool_name, n)
        self.dcir.add(pids, days, NAT_BIO, self.reg.other(self.rng, "lab", n),
                      pre=self.reg.cabinet(self.rng, prescribers), kind=KIND_BIO, code=codes)

    def act(self, pids, days, pool_name: str, executants_doc, nat=NAT_ATM, prescribers=None) -> None:
        n = len(pids)
        if n == 0:
            return
        pre = -1 if prescribers is None else self.reg.cabinet(self.rng, prescribers)
        self.dcir.add(pids, days, nat, self.reg.cabinet(self.rng, executants_doc), pre=pre, kind=KIND_CAM,
                      code=self.ccam(pool_name, n))

    def stay(self, pids, entry, los, dp_pool: str, acts_pool: str | None = None, das_pool: str | None = None,
             dp=None) -> None:
        """Stays (DP, DAS, one act of ``acts_pool``); returns the act dates (or None)."""
        if len(pids) == 0:
            return None
        dp = self.icd(dp_pool, len(pids)) if dp is None else dp
        acts = None
        if acts_pool:
            a = C.str_codes(acts_pool)
            codes = a[self.rng.integers(0, len(a), len(pids))]
            delay = self.rng.integers(0, 2, len(pids))
            acts = [((codes[i], int(delay[i])),) for i in range(len(pids))]
        das = None
        if das_pool:
            d = self.icd(das_pool, len(pids))
            das = [(d[i],) for i in range(len(pids))]
        self.pmsi.add(pids, entry, los, dp, das=das, acts=acts)
        return None if acts is None else np.asarray(entry) + delay

    def spec_followup(self, pids, doctors, per_year=(2, 3)) -> None:
        """>= 2 consultations with the specialist over N-1..N, at least one in N."""
        m = len(pids)
        if m == 0:
            return
        self.consult(pids, self.days(self.Y2, self.END, m), doctors)
        self.consult(pids, self.days(self.Y1, self.Y2, m), doctors)
        extra = self.rng.integers(0, per_year[1], m)
        rep = np.repeat(np.arange(m), extra)
        self.consult(np.asarray(pids)[rep], self.days(self.Y1, self.END, len(rep)), np.asarray(doctors)[rep])


# ====================================================================== background
def background(c: Ctx) -> None:
    """GP / paediatrician consultations in N-1 and N (the "consommant" patientèle)."""
    lam = np.select([c.age < 2, c.age < 16, c.age < 60, c.age < 75], [4.0, 2.0, 2.2, 3.5], 5.0)
    for lo, hi in ((c.Y1, c.Y2), (c.Y2, c.END)):
        k = c.rng.poisson(lam)
        rep = np.repeat(np.arange(c.n), k)
        if len(rep) == 0:
            continue
        mt = c.mt_doc[rep]
        other_gp = c.reg.sample(c.rng, "gp", len(rep))
        doc = np.where((mt >= 0) & (c.rng.random(len(rep)) < 0.85), mt, other_gp)
        c.consult(rep, c.days(lo, hi, len(rep)), doc)


# ====================================================================== MT enfant
def children(c: Ctx) -> None:
    rng = c.rng
    child = c.age < 16
    mt = c.mt_doc
    gt_ok = c.alive & (mt >= 0)
    # --- persistent asthma, 1-16 y (ENF-01, ENF-02)
    asth = c.pick(child & (c.age >= 1), 0.06)
    if len(asth):
        doc = np.where(mt[asth] >= 0, mt[asth], c.reg.sample(rng, "gp", len(asth)))
        p1 = np.where(mt[asth] >= 0, c.rate("ENF-01", np.maximum(mt[asth], 0)), 0.55)
        treated = c.bern(p1)
        # relievers: 4-6 deliveries in N, 1-2 in N-1
        k = rng.integers(4, 7, len(asth))
        rep = np.repeat(np.arange(len(asth)), k)
        c.drug(asth[rep], c.days(c.Y2, c.END, len(rep)), "asthma_reliever", doc[rep])
        k = rng.integers(1, 3, len(asth))
        rep = np.repeat(np.arange(len(asth)), k)
        c.drug(asth[rep], c.days(c.Y1, c.Y2, len(rep)), "asthma_reliever", doc[rep])
        t = np.flatnonzero(treated)
        c.chronic(asth[t], "asthma_controller", c.Y2 + rng.integers(0, 120, len(t)), c.END, doc[t],
                  period_normal=60)
        sel = gt_ok[asth]
        c.gt_mt("ENF-01", asth[sel], mt[asth][sel], treated[sel])
        # EFR for 6-16
        a6 = c.age[asth] >= 6
        p2 = np.where(mt[asth] >= 0, c.rate("ENF-02", np.maximum(mt[asth], 0)), 0.4)
        efr = c.bern(p2) & a6
        e = np.flatnonzero(efr)
        peds = c.reg.sample(rng, "paediatrician", len(e))
        c.act(asth[e], c.days(c.Y2, c.END, len(e)), "ccam_lung_function", peds, prescribers=doc[e])
        sel = gt_ok[asth] & a6
        c.gt_mt("ENF-02", asth[sel], mt[asth][sel], efr[sel])
    # --- vaccinations: children born from N-3 on
    months_old_end = ((c.END - c.birth) / 30.44).astype(np.int64)
    young = np.flatnonzero(months_old_end < 40)
    if len(young):
        mtd = mt[young]
        has = mtd >= 0
        doc = np.where(has, mtd, c.reg.sample(rng, "gp", len(young)))
        # ROR: 2 doses at 12 and 16-18 months
        p_both = np.where(has, c.rate("ENF-04", np.maximum(mtd, 0)), 0.7)
        both = c.bern(p_both)
        one = ~both & (rng.random(len(young)) < 0.7)
        d1 = c.birth[young] + 365 + rng.integers(-10, 40, len(young))
        d2 = c.birth[young] + rng.integers(480, 560, len(young))
        v1 = both | one
        for mask, dd in ((v1, d1), (both, d2)):
            s = np.flatnonzero(mask & (dd < c.END) & (dd >= c.Y0))
            c.drug(young[s], dd[s], "vaccine_mmr", doc[s], qty=1, nat=NAT_ROR)
        agem = c.age_months[young]
        sel = has & c.alive[young] & (agem >= 19) & (agem < 24)
        c.gt_mt("ENF-04", young[sel], mtd[sel], both[sel])
        # Méningocoque C: dose at 5 months and/or 12 months
        p_menc = np.where(has, c.rate("ENF-05", np.maximum(mtd, 0)), 0.7)
        got = c.bern(p_menc)
        d5 = c.birth[young] + 152 + rng.integers(0, 30, len(young))
        d12 = c.birth[young] + 370 + rng.integers(0, 30, len(young))
        two = got & (rng.random(len(young)) < 0.6)
        for mask, dd in ((got & ~two, np.where(rng.random(len(young)) < 0.5, d5, d12)), (two, d5), (two, d12)):
            s = np.flatnonzero(mask & (dd < c.END) & (dd >= c.Y0))
            c.drug(young[s], dd[s], "vaccine_menc", doc[s], qty=1)
        sel = has & c.alive[young] & (agem >= 13) & (agem < 18)
        # the dose must fall before the reference date: with 13-18 months, d5 and d12 < END
        c.gt_mt("ENF-05", young[sel], mtd[sel], got[sel])
    # --- antibiotics in N (ENF-06 < 4 y, ENF-07 >= 4 y)
    p_course = np.where(c.age < 4, 0.5, 0.3)
    ab = c.pick(child & (c.birth < c.END - 60), p_course)
    if len(ab):
        mtd = mt[ab]
        has = mtd >= 0
        doc = np.where(has & (rng.random(len(ab)) < 0.75), mtd, c.reg.sample(rng, "gp", len(ab)))
        small = c.age[ab] < 4
        r = np.where(small, c.rate("ENF-06", np.maximum(mtd, 0)), c.rate("ENF-07", np.maximum(mtd, 0)))
        r = np.where(has, r, np.where(small, 0.3, 0.15))
        c3g = c.bern(r)
        k = rng.integers(1, 4, len(ab))
        lo = np.maximum(c.Y2, c.birth[ab] + 30)
        rep = np.repeat(np.arange(len(ab)), k)
        first = np.r_[0, np.cumsum(k)[:-1]]
        is_c3g_line = np.zeros(len(rep), dtype=bool)
        is_c3g_line[first[c3g]] = True
        dd = c.days(lo[rep], c.END)
        o = np.flatnonzero(~is_c3g_line)
        c.drug(ab[rep][o], dd[o], "antibiotic_other", doc[rep][o], qty=1)
        o = np.flatnonzero(is_c3g_line)
        c.drug(ab[rep][o], dd[o], "antibiotic_c3g_c4g", doc[rep][o], qty=1)
        # ENF-06 / ENF-07 take the age at each dispensing (review L-21): a child is in
        # ENF-06 when an antibiotic was dispensed before the 4th birthday, in ENF-07
        # when one was dispensed at 4 or more, and counts a C3G/C4G of the same age band
        line_small = c.age_months_at(ab[rep], dd) < 48
        n_ab = len(ab)
        den06 = np.bincount(rep[line_small], minlength=n_ab) > 0
        den07 = np.bincount(rep[~line_small], minlength=n_ab) > 0
        num06 = np.bincount(rep[line_small & is_c3g_line], minlength=n_ab) > 0
        num07 = np.bincount(rep[~line_small & is_c3g_line], minlength=n_ab) > 0
        sel = has & c.alive[ab] & (c.age_months[ab] < 192)
        c.gt_mt("ENF-06", ab[sel & den06], mtd[sel & den06], num06[sel & den06])
        c.gt_mt("ENF-07", ab[sel & den07], mtd[sel & den07], num07[sel & den07])
        # a few courses in N-1 as history
        h = c.pick(child & (c.birth < c.Y2 - 60), 0.2)
        hd = np.where(mt[h] >= 0, mt[h], c.reg.sample(rng, "gp", len(h)))
        c.drug(h, c.days(np.maximum(c.Y1, c.birth[h] + 30), c.Y2), "antibiotic_other", hd, qty=1)
    # --- M'T dents (ENF-10): children whose birthday at 6, 9, 12 or 15 falls between
    # 1/7/N-1 and 30/6/N (the birthday-anchored cohort of the definition); exam within
    # 183 days after the birthday
    bm = c.birth.astype("datetime64[D]").astype("datetime64[M]")
    lo_c, hi_c = day(c.year - 1, 7, 1), day(c.year, 6, 30)
    bday = np.full(c.n, -1, dtype=np.int64)
    for a in (6, 9, 12, 15):
        bd = ((bm + np.timedelta64(12 * a, "M")).astype("datetime64[D]").astype(np.int64) + 14)
        bday = np.where((bd >= lo_c) & (bd <= hi_c), bd, bday)
    md = np.flatnonzero(bday >= 0)
    if len(md):
        mtd = mt[md]
        has = mtd >= 0
        p = np.where(has, c.rate("ENF-10", np.maximum(mtd, 0)), 0.6)
        ex = c.bern(p)
        s = np.flatnonzero(ex)
        b0 = bday[md][s]
        dd = c.days(b0, b0 + 183)
        c.dcir.add(md[s], dd, NAT_BDC, c.reg.other(rng, "dentist", len(s)))
        r2 = s[rng.random(len(s)) < 0.3]
        if len(r2):
            b2 = bday[md][r2]
            c.dcir.add(md[r2], c.days(b2, b2 + 183), 9422, c.reg.other(rng, "dentist", len(r2)))
        sel = has & c.alive[md] & (c.age_months[md] < 192)
        c.gt_mt("ENF-10", md[sel], mtd[sel], ex[sel])


# ====================================================================== cardiology
def _at(end, idx):
    """`end` (a day, or one day per patient) for the patients `idx`."""
    return end[idx] if isinstance(end, np.ndarray) and end.ndim else end


def cardiology(c: Ctx) -> None:
    rng = c.rng
    p = np.select([c.age < 30, c.age < 50, c.age < 65, c.age < 80], [0.002, 0.02, 0.07, 0.16], 0.2)
    pts = c.pick(c.age >= 18, p)
    m = len(pts)
    if m == 0:
        return
    card = c.reg.sample(rng, "cardiologist", m)
    c.spec_followup(pts, card)
    ecg = rng.random(m) < 0.7
    c.act(pts[ecg], c.days(c.Y2, c.END, int(ecg.sum())), "ccam_ecg", card[ecg])
    alive = c.alive[pts]
    # profile: 0 HT only, 1 post-MI, 2 heart failure, 3 coronary on P2Y12, 4 other
    prof = rng.choice(5, m, p=[0.55, 0.08, 0.10, 0.09, 0.18])
    r8 = c.rate("CAR-08", card)
    r9 = c.rate("CAR-09", card)
    rep_ht = c.bern(r8)  # antihypertensives in the répertoire (per patient)
    rep_st = c.bern(r9)
    start, end = c.Y1, c.END
    # classes matrix [C03, C07, C08, C09]
    cls = np.zeros((m, 4), dtype=bool)
    ht = prof == 0
    nclass = rng.choice([1, 2, 3], m, p=[0.45, 0.35, 0.20])
    order = np.argsort(rng.random((m, 4)), axis=1)
    for j in range(3):
        cls[np.arange(m), order[:, j]] |= ht & (nclass > j)
    tri = ht & (nclass == 3)
    diu = c.bern(c.rate("CAR-03", card))
    tri_idx = np.flatnonzero(tri)
    cls[tri_idx] = False
    cls[tri_idx, 1:] = True  # C07 + C08 + C09
    with_diu = tri_idx[diu[tri_idx]]
    drop = rng.integers(1, 4, len(with_diu))
    cls[with_diu, 0] = True
    cls[with_diu, drop] = False
    # post-MI
    mi = prof == 1
    mi_idx = np.flatnonzero(mi)
    mi_entry = c.days(c.Y0, c.Y2 - 30, len(mi_idx))
    full4 = c.bern(c.rate("CAR-01", card[mi_idx]))
    has4 = np.ones((len(mi_idx), 4), dtype=bool)  # BB, statin, AAP, IEC/ARA2
    miss = rng.integers(0, 4, len(mi_idx))
    has4[np.flatnonzero(~full4), miss[~full4]] = False
    cls[mi_idx, 1] = has4[:, 0]
    cls[mi_idx, 3] = has4[:, 3]
    if c.followup_end is not None:
        # infarction in the pass's N-1: N's CAR-01 window (N-2..N-1) counts it too, so the
        # treatments go on through N (issue 7: follow-up in N for patients of N-1)
        end = np.full(m, c.END, dtype=np.int64)
        end[mi_idx[mi_entry >= c.Y1]] = c.followup_end
    c.stay(pts[mi_idx], mi_entry, rng.integers(3, 9, len(mi_idx)), "icd_mi", das_pool="icd_das_cardio")
    c.ald.add(pts[mi_idx], 13, mi_entry, np.full(len(mi_idx), "I252", dtype=object))
    sel = alive[mi_idx]
    c.gt.add("CAR-01", card[mi_idx][sel], full4[sel])
    ldl_ok = c.bern(c.rate("CAR-07", card[mi_idx]))
    sel = alive[mi_idx] & (c.age[pts[mi_idx]] < 85)
    c.gt.add("CAR-07", card[mi_idx][sel], ldl_ok[sel])
    # heart failure
    hf_idx = np.flatnonzero(prof == 2)
    hf_ok = c.bern(c.rate("CAR-02", card[hf_idx]))
    miss = rng.integers(0, 2, len(hf_idx))
    cls[hf_idx, 1] = hf_ok | (miss == 1)
    cls[hf_idx, 3] = hf_ok | (miss == 0)
    hf_entry = c.days(c.hist("PMSI", 5), c.Y2, len(hf_idx))
    c.stay(pts[hf_idx], hf_entry, rng.integers(4, 12, len(hf_idx)), "icd_heart_failure",
           das_pool="icd_das_cardio")
    alds = rng.random(len(hf_idx)) < 0.6
    c.ald.add(pts[hf_idx][alds], 5, hf_entry[alds], c.icd("icd_heart_failure", int(alds.sum())))
    sel = alive[hf_idx]
    c.gt.add("CAR-02", card[hf_idx][sel], hf_ok[sel])
    # antihypertensive deliveries
    pres = c.prescriber(pts, card, 0.35)
    for j, pool in enumerate(("diuretics", "beta_blockers", "calcium_blockers", None)):
        s = np.flatnonzero(cls[:, j])
        if pool is None:
            sart = rng.random(len(s)) < 0.5
            for mask, name in ((sart, "sartans"), (~sart, "ace_inhibitors")):
                t = s[mask]
                c.chronic(pts[t], name, start, _at(end, t), pres[t], in_rep=rep_ht[t])
        else:
            c.chronic(pts[s], pool, start, _at(end, s), pres[s], in_rep=rep_ht[s])
    # CAR-03 / CAR-04 ground truth (tri-therapy patients) and biology
    sel = tri & alive
    c.gt.add("CAR-03", card[sel], cls[sel, 0])
    bio_ok = c.bern(c.rate("CAR-04", card))
    t = np.flatnonzero(tri & bio_ok)
    dd = c.days(c.Y2, c.END, len(t))
    c.bio(pts[t], dd, "nabm_creatinine", pres[t])
    c.bio(pts[t], dd, "nabm_potassium", pres[t])
    t = np.flatnonzero(tri & ~bio_ok & (rng.random(m) < 0.6))
    c.bio(pts[t], c.days(c.Y2, c.END, len(t)), "nabm_creatinine", pres[t])
    c.gt.add("CAR-04", card[sel], bio_ok[sel])
    # MAPA for patients on >= 1 antihypertensive class (CAR-05)
    anyht = cls.any(axis=1)
    mapa = c.bern(c.rate("CAR-05", card)) & anyht
    t = np.flatnonzero(mapa)
    c.act(pts[t], c.days(c.Y2, c.END, len(t)), "ccam_abpm", card[t])
    # CAR-05 counts hypertensive patients only (review L-17): heart failure (ALD, or a
    # stay in N-2..N) and post-MI patients are treated for something else
    other = np.zeros(m, dtype=bool)
    other[mi_idx] = True
    other[hf_idx] = alds | (hf_entry >= c.Y0)
    sel = anyht & alive & ~other
    c.gt.add("CAR-05", card[sel], mapa[sel])
    # statins: post-MI (unless missing), coronary, 40 % of the others
    statin = np.zeros(m, dtype=bool)
    statin[mi_idx] = has4[:, 1]
    statin |= (prof == 3) | (((prof == 0) | (prof == 4) | (prof == 2)) & (rng.random(m) < 0.4))
    s = np.flatnonzero(statin)
    c.chronic(pts[s], "statins", start, _at(end, s), pres[s], in_rep=rep_st[s])
    # LDL tests for statin / post-MI patients
    # (a post-MI patient known to be < 1 g/l was measured in N)
    ldl_test = statin & (rng.random(m) < 0.7)
    ldl_test[mi_idx[ldl_ok]] = True
    t = np.flatnonzero(ldl_test)
    c.bio(pts[t], c.days(c.Y2, c.END, len(t)), "nabm_ldl", pres[t])
    # aspirin for post-MI (if not missing)
    a = mi_idx[has4[:, 2]]
    c.chronic(pts[a], "aspirin_antiplatelet", start, _at(end, a), pres[a])
    # P2Y12 (CAR-06): coronary patients treated in N; numerator = also treated in N-2
    cor = np.flatnonzero(prof == 3)
    long = c.bern(c.rate("CAR-06", card[cor]))
    st = np.where(long, c.Y0 + rng.integers(0, 200, len(cor)), c.days(c.Y1, c.Y2 + 200, len(cor)))
    c.chronic(pts[cor], "p2y12", st, c.END, pres[cor])
    c.ald.add(pts[cor], 13, st, np.full(len(cor), "I251", dtype=object))
    sel = alive[cor]
    c.gt.add("CAR-06", card[cor][sel], long[sel])


# ====================================================================== gastro-enterology
def gastro(c: Ctx) -> None:
    rng = c.rng
    adult = c.age >= 18
    # --- operated colorectal cancer, surgery in N-2..N (GAS-01, GAS-02 on surgeries in N-1)
    p = np.where(c.age >= 50, 0.0012, 0.0001)
    ccr = c.pick(adult, p)
    if len(ccr):
        g = c.spec("gastroenterologist", ccr)
        surg = c.days(c.Y0, c.END - 20, len(ccr))
        icd = c.icd("icd_colorectal_cancer", len(ccr))
        act_day = c.stay(ccr, surg, rng.integers(6, 14, len(ccr)), "icd_colorectal_cancer",
                         acts_pool="ccam_colectomy", dp=icd)
        c.ald.add(ccr, 30, surg, icd)
        c.spec_followup(ccr, g)
        img_ok = c.bern(c.rate("GAS-01", g))
        ace_ok = c.bern(c.rate("GAS-02", g))
        pres = c.prescriber(ccr, g, 0.7)
        rad = c.reg.sample(rng, "radiologist", len(ccr))
        # imaging: one per half-year if ok, else only one in the first year
        h1 = surg + 30 + rng.integers(0, 150, len(ccr))
        h2 = surg + 183 + rng.integers(0, 150, len(ccr))
        c.act(ccr, h1, "ccam_ccr_imaging", rad, nat=NAT_ADI, prescribers=pres)
        t = np.flatnonzero(img_ok)
        c.act(ccr[t], h2[t], "ccam_ccr_imaging", rad[t], nat=NAT_ADI, prescribers=pres[t])
        # ACE every quarter if ok, else 1-2 in the year
        for q in range(4):
            dq = surg + 20 + 91 * q + rng.integers(0, 60, len(ccr))
            mask = ace_ok | (q == 0) | ((q == 2) & (rng.random(len(ccr)) < 0.5))
            t = np.flatnonzero(mask)
            c.bio(ccr[t], dq[t], "nabm_cea", pres[t])
        sel = c.alive[ccr] & (act_day >= c.Y1) & (act_day < c.Y2)  # the colectomy act dates the surgery
        c.gt.add("GAS-01", g[sel], img_ok[sel])
        c.gt.add("GAS-02", g[sel], ace_ok[sel])
    # --- IBD (ALD 24): 5-ASA (GAS-03) or azathioprine (GAS-04)
    ibd = c.pick(c.age >= 10, 0.0035)
    if len(ibd):
        g = c.spec("gastroenterologist", ibd)
        icd = c.icd("icd_ibd", len(ibd))
        onset = c.days(day(c.year - 15), c.Y2, len(ibd))
        # one in five known from a hospital stay only (GAS-03/04 read PMSI back to N-4)
        by_stay = rng.random(len(ibd)) < 0.2
        t = np.flatnonzero(~by_stay)
        c.ald.add(ibd[t], 24, onset[t], icd[t])
        t = np.flatnonzero(by_stay)
        c.stay(ibd[t], c.days(c.hist("PMSI", 4), c.Y2, len(t)),
               rng.integers(2, 8, len(t)), "icd_ibd", dp=icd[t])
        c.spec_followup(ibd, g)
        pres = c.prescriber(ibd, g, 0.6)
        trt = rng.choice(3, len(ibd), p=[0.5, 0.3, 0.2])  # 5-ASA, azathioprine, other
        t = np.flatnonzero(trt == 0)
        c.chronic(ibd[t], "five_asa", c.Y1, c.END, pres[t], nat=NAT_PH1, exo=42, period_normal=45)
        ok = c.bern(c.rate("GAS-03", g[t]))
        s = t[ok]
        c.bio(ibd[s], c.days(c.Y2, c.END, len(s)), "nabm_proteinuria", pres[s])
        sel = c.alive[ibd[t]]
        c.gt.add("GAS-03", g[t][sel], ok[sel])
        t = np.flatnonzero(trt == 1)
        c.chronic(ibd[t], "azathioprine", c.Y1, c.END, pres[t], nat=NAT_PH1, exo=42, period_normal=45)
        ok = c.bern(c.rate("GAS-04", g[t]))
        nb = np.where(ok, rng.integers(3, 6, len(t)), rng.integers(0, 3, len(t)))
        rep = np.repeat(np.arange(len(t)), nb)
        # distinct dates: spread over quarters
        rank = np.arange(len(rep)) - np.repeat(np.cumsum(nb) - nb, nb)
        dd = c.Y2 + rank * 70 + rng.integers(0, 60, len(rep))
        c.bio(ibd[t][rep], np.minimum(dd, c.END - 1), "nabm_cbc_platelets", pres[t][rep])
        sel = c.alive[ibd[t]]
        c.gt.add("GAS-04", g[t][sel], ok[sel])
    # --- colonoscopies in N (GAS-05, GAS-07), and history in N-2 / N-1
    p = np.select([c.age < 45, c.age < 50, c.age < 80], [0.002, 0.01, 0.03], 0.01)
    col = c.pick(adult, p)
    polyp_n = np.zeros(0, dtype=bool)
    if len(col):
        g = c.spec("gastroenterologist", col)
        dcol = c.days(c.Y2 + 20, c.END, len(col))
        fit = rng.random(len(col)) < 0.15
        adenoma = c.bern(c.rate("GAS-07", g)) & fit
        polyp_n = np.where(fit, adenoma, rng.random(len(col)) < 0.25)
        partial = ~fit & ~polyp_n & (rng.random(len(col)) < 0.1)
        c.consult(col, dcol - rng.integers(15, 60, len(col)), g)
        t = np.flatnonzero(polyp_n)
        c.act(col[t], dcol[t], "ccam_polypectomy_total", g[t])
        t = np.flatnonzero(~polyp_n & ~partial)
        c.act(col[t], dcol[t], "ccam_colonoscopy_total", g[t])
        t = np.flatnonzero(partial)
        c.act(col[t], dcol[t], "ccam_colonoscopy_partial", g[t])
        # positive FIT in organised screening: GP hands the kit, test read
        t = np.flatnonzero(fit)
        gp = np.where(c.mt_doc[col[t]] >= 0, c.mt_doc[col[t]], c.reg.sample(rng, "gp", len(t)))
        dfit = dcol[t] - rng.integers(30, 150, len(t))
        c.dcir.add(col[t], dfit - 10, NAT_KIT, c.reg.cabinet(rng, gp))
        c.dcir.add(col[t], dfit, NAT_DCC, c.reg.other(rng, "lab", len(t)), pre=c.reg.cabinet(rng, gp))
        sel = c.alive[col] & fit
        c.gt.add("GAS-07", g[sel], adenoma[sel])
        # too-early re-colonoscopy: prior total colonoscopy with polypectomy in N-2/N-1
        early = c.bern(c.rate("GAS-05", g))
        t = np.flatnonzero(early)
        c.act(col[t], c.days(c.Y0, c.Y2 - 30, len(t)), "ccam_polypectomy_total", g[t])
        sel = c.alive[col]
        c.gt.add("GAS-05", g[sel], early[sel])
        # polypectomies in N -> transmission declaration (GAS-08 denominator)
        c.gt.add("GAS-08", g[sel & polyp_n], np.ones(int((sel & polyp_n).sum()), dtype=bool))
    not_col = np.ones(c.n, dtype=bool)
    not_col[col] = False
    hist = c.pick(adult & (c.age >= 45) & not_col, 0.02)
    if len(hist):
        g = c.spec("gastroenterologist", hist)
        pol = rng.random(len(hist)) < 0.3
        dd = c.days(c.Y0, c.Y2, len(hist))
        t = np.flatnonzero(pol)
        c.act(hist[t], dd[t], "ccam_polypectomy_total", g[t])
        t = np.flatnonzero(~pol)
        c.act(hist[t], dd[t], "ccam_colonoscopy_total", g[t])
    # --- H. pylori eradication in N (GAS-06)
    hp = c.pick(adult, 0.004)
    if len(hp):
        g = c.spec("gastroenterologist", hp)
        c.spec_followup(hp, g)
        pres = c.prescriber(hp, g, 0.7)
        dt = c.days(c.Y2, c.END - 75, len(hp))
        pylera = rng.random(len(hp)) < 0.5
        t = np.flatnonzero(pylera)
        c.drug(hp[t], dt[t], "hp_bismuth_quadritherapy", pres[t], qty=1)
        t = np.flatnonzero(~pylera)
        for name in ("ppi", "amoxicillin", "clarithromycin"):
            c.drug(hp[t], dt[t], name, pres[t], qty=1)
        tru = c.bern(c.rate("GAS-06", g))
        t = np.flatnonzero(tru)
        c.bio(hp[t], dt[t] + rng.integers(35, 70, len(t)), "nabm_urea_breath_test", pres[t])
        sel = c.alive[hp]
        c.gt.add("GAS-06", g[sel], tru[sel])


# ====================================================================== endocrinology
def endocrinology(c: Ctx) -> None:
    rng = c.rng
    adult = c.age >= 18
    # --- insulin-only diabetics followed by an endocrinologist (END-01), + POD (END-06)
    dia = c.pick(c.age >= 10, np.where(c.age < 40, 0.0015, 0.004))
    if len(dia):
        e = c.spec("endocrinologist", dia)
        c.spec_followup(dia, e)
        t1 = c.age[dia] < 45
        icd = np.where(t1, "E109", "E119").astype(object)
        c.ald.add(dia, 8, c.days(day(c.year - 20), c.Y1, len(dia)), icd)
        pres = c.prescriber(dia, e, 0.5)
        bb = c.bern(c.rate("END-01", e))
        premix = ~bb & (rng.random(len(dia)) < 0.4)
        basal = ~premix
        t = np.flatnonzero(basal)
        c.chronic(dia[t], "insulin_basal", c.Y0, c.END, pres[t], nat=NAT_PH1, exo=42, period_normal=60)
        t = np.flatnonzero(bb)
        c.chronic(dia[t], "insulin_rapid", c.Y0, c.END, pres[t], nat=NAT_PH1, exo=42, period_normal=60)
        t = np.flatnonzero(premix)
        c.chronic(dia[t], "insulin_premix", c.Y0, c.END, pres[t], nat=NAT_PH1, exo=42, period_normal=60)
        k = rng.integers(2, 4, len(dia))
        rep = np.repeat(np.arange(len(dia)), k)
        c.bio(dia[rep], c.days(c.Y2, c.END, len(rep)), "nabm_hba1c", pres[rep])
        sel = c.alive[dia] & (c.age[dia] < 70)
        c.gt.add("END-01", e[sel], bb[sel])
        c.gt.add("END-02", e[c.alive[dia]], np.ones(int(c.alive[dia].sum()), dtype=bool))
        # podology
        pod = rng.random(len(dia)) < 0.3
        ok = c.bern(c.rate("END-06", e)) & pod
        nb = np.where(ok, rng.integers(4, 7, len(dia)), np.where(pod, rng.integers(1, 4, len(dia)), 0))
        rep = np.repeat(np.arange(len(dia)), nb)
        rank = np.arange(len(rep)) - np.repeat(np.cumsum(nb) - nb, nb)
        dd = np.minimum(c.Y2 + rank * 60 + rng.integers(0, 50, len(rep)), c.END - 1)
        c.dcir.add(dia[rep], dd, NAT_POD, c.reg.other(rng, "podologist", len(rep)),
                   pre=c.reg.cabinet(rng, pres[rep]), exo=42)
        sel = c.alive[dia] & pod
        c.gt.add("END-06", e[sel], ok[sel])
    # --- insulin initiations in N-1 (END-08) and N (END-07): type 2 on metformin
    ini = c.pick(adult & (c.age < 85), 0.0016)
    if len(ini):
        e = c.spec("endocrinologist", ini)
        c.spec_followup(ini, e)
        pres = c.prescriber(ini, e, 0.3)
        c.chronic(ini, "metformin", c.Y0, c.END, pres)
        in_n1 = rng.random(len(ini)) < 0.5
        d0 = np.where(in_n1, c.days(c.Y1, c.Y2 - 20, len(ini)), c.days(c.Y2, c.END - 60, len(ini)))
        hosp = c.bern(c.rate("END-08", e))
        t = np.flatnonzero(hosp)
        los = rng.integers(3, 7, len(t))
        c.stay(ini[t], d0[t] - los, los, "icd_diabetes_t2", das_pool="icd_das_metabolic")
        first_pres = np.where(hosp, -1, e)
        c.drug(ini, d0, "insulin_basal", first_pres, qty=1, nat=NAT_PH1)
        c.chronic(ini, "insulin_basal", d0 + 30, c.END, pres, nat=NAT_PH1, period_normal=60)
        auto = c.bern(c.rate("END-07", e))
        t = np.flatnonzero(~auto)
        k = rng.integers(2, 5, len(t))
        rep = np.repeat(np.arange(len(t)), k)
        rank = np.arange(len(rep)) - np.repeat(np.cumsum(k) - k, k)
        dd = d0[t][rep] + 1 + rank * 14
        c.dcir.add(ini[t][rep], dd, NAT_AMI, c.reg.other(rng, "nurse", len(rep)),
                   pre=c.reg.cabinet(rng, e[t][rep]), qty=14, dtf=13)
        sel = c.alive[ini] & (c.age[ini] < 80)
        at_init = c.alive[ini] & (c.age_months_at(ini, d0) < 960)  # END-08: age at the initiation
        c.gt.add("END-08", e[at_init & in_n1], hosp[at_init & in_n1])
        c.gt.add("END-07", e[sel & ~in_n1], auto[sel & ~in_n1])
    # --- operated thyroid cancer, surgery N-2..N-1 (END-03)
    tc = c.pick(adult, 0.0008)
    if len(tc):
        e = c.spec("endocrinologist", tc)
        c.spec_followup(tc, e)
        surg = c.days(c.hist("PMSI", 10), c.Y2 - 30, len(tc))  # END-03 reads ten years
        c.stay(tc, surg, rng.integers(2, 5, len(tc)), "icd_thyroid_cancer", acts_pool="ccam_thyroidectomy_total")
        c.ald.add(tc, 30, surg, np.full(len(tc), "C73", dtype=object))
        pres = c.prescriber(tc, e, 0.8)
        c.chronic(tc, "levothyroxine", surg + 5, c.END, pres, period_normal=90)
        ok = c.bern(c.rate("END-03", e))
        dd = c.days(c.Y2, c.END, len(tc))
        t = np.flatnonzero(ok)
        c.bio(tc[t], dd[t], "nabm_thyroglobulin", pres[t])
        c.bio(tc[t], dd[t], "nabm_anti_thyroglobulin", pres[t])
        t = np.flatnonzero(~ok & (rng.random(len(tc)) < 0.5))
        c.bio(tc[t], dd[t], "nabm_thyroglobulin", pres[t])
        c.bio(tc, dd, "nabm_tsh", pres)
        sel = c.alive[tc]
        c.gt.add("END-03", e[sel], ok[sel])
    # --- operated thyroid nodules in N (END-04)
    tn = c.pick(adult, 0.0006)
    if len(tn):
        e = c.spec("endocrinologist", tn)
        c.spec_followup(tn, e)
        surg = c.days(c.Y2 + 30, c.END, len(tn))
        c.stay(tn, surg, rng.integers(1, 4, len(tn)), "icd_thyroid_nodule", acts_pool="ccam_thyroid_lobectomy")
        ok = c.bern(c.rate("END-04", e))
        t = np.flatnonzero(ok)
        c.act(tn[t], surg[t] - rng.integers(30, 300, len(t)), "ccam_thyroid_cytopunction", e[t])
        c.bio(tn, surg - rng.integers(30, 200, len(tn)), "nabm_tsh", e)
        sel = c.alive[tn]
        c.gt.add("END-04", e[sel], ok[sel])


# ====================================================================== specialist patientèles
def specialist_patienteles(c: Ctx) -> None:
    """Specialists also see patients who are neither in an indicator population nor
    their MT patients: top each specialty up to its published mean patientèle
    (``PATIENTELE_MEAN``, >= 2 contacts in N-1..N), then record the patientèle of
    every specialist in the ground truth (calibration report).

    Top-up patients are alive adults with no contact yet with a doctor of that
    specialty in the chunk, so that no indicator population gains a second doctor."""
    ev = c.dcir.concat()
    exe = ev["exe"]
    ok = (exe >= 0) & (ev["day"] >= c.Y1) & (ev["day"] < c.END)
    doc = np.full(len(exe), -1, dtype=np.int64)
    doc[exe >= 0] = c.reg.exe_doctor[exe[exe >= 0]]
    ok &= doc >= 0
    pid, day_, doc = ev["pid"][ok].astype(np.int64), ev["day"][ok].astype(np.int64), doc[ok]
    # distinct (patient, doctor, day), then pairs with >= 2 days
    key = np.unique((pid * c.reg.n_doctors + doc) * 40_000 + (day_ - c.Y1))
    pair = key // 40_000
    pairs, n_days = np.unique(pair, return_counts=True)
    pairs = pairs[n_days >= 2]
    p_pid, p_doc = pairs // c.reg.n_doctors, pairs % c.reg.n_doctors
    group_of = c.reg.doc_group
    for group, mean in PATIENTELE_MEAN.items():
        if group not in c.reg.groups:
            continue
        in_g = group_of[p_doc] == group
        have = int((in_g & c.alive[p_pid]).sum())
        if c.reg.patients:  # doctors actually drawn for the run, this chunk's share of them
            want = int(round(mean * len(c.reg.groups[group]) * c.n / c.reg.patients))
        else:
            want = int(round(mean * c.n / INHABITANTS_PER_DOCTOR[group]))
        touched = np.zeros(c.n, dtype=bool)
        touched[pid[group_of[doc] == group]] = True
        cand = np.flatnonzero(c.alive & (c.age >= 18) & ~touched)
        k = min(max(want - have, 0), len(cand))
        if k:
            extra = np.sort(c.rng.choice(cand, size=k, replace=False))
            docs = c.reg.sample(c.rng, group, k)
            c.spec_followup(extra, docs, per_year=(0, 2))
            p_pid = np.r_[p_pid, extra]
            p_doc = np.r_[p_doc, docs]
    alive = c.alive[p_pid]
    c.gt.add_patientele(p_doc[alive])


SCENARIOS = (background, children, cardiology, gastro, endocrinology, specialist_patienteles)
