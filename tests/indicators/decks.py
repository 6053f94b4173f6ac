"""Per-indicator test decks: tiny patient histories named by their expected outcome.

Each deck row is ``(case name, history, in_denominator, in_numerator, reason)``;
``history(cv, pid)`` writes the patient's claims with :class:`CleanViews`.
``reason`` is the expected reason code, or ``None`` when the patient must not
appear at all in the doctor's evidence (not a candidate: outside the patientèle
or outside the population trigger). Payment year is 2018.
"""

from __future__ import annotations

from collections.abc import Callable

from clean_builders import CleanViews

Case = tuple[str, Callable[[CleanViews, str], object], bool, bool, str | None]
DOCTORS = {"mt-enfant": "GP1", "cardiologie": "CAR1", "gastro-enterologie": "GAS1", "endocrinologie": "END1"}


def child(cv: CleanViews, pid: str, birth: str, doctor: str = "GP1", death: str | None = None) -> CleanViews:
    """A child whose declared MT is ``doctor``, with one reimbursed care in 2018."""
    return cv.patient(pid, birth, death=death).mt(pid, doctor).service(pid, "2018-01-20", nature=1111, executant=doctor)


def adult(cv: CleanViews, pid: str, doctor: str, birth: str = "1955-06", death: str | None = None, contacts: int = 2) -> CleanViews:
    """An adult of the specialist's patientèle (``contacts`` consultations in 2017-2018)."""
    cv.patient(pid, birth, death=death)
    for x in ("2017-09-01", "2018-02-01", "2018-06-01")[:contacts]:
        cv.service(pid, x, nature=1111, executant=doctor)
    return cv


ASTHMA4 = ("2018-01-10", "2018-03-10", "2018-05-10", "2018-07-10")
TWO = ("2018-02-01", "2018-08-01")
THREE = ("2018-02-01", "2018-05-01", "2018-09-01")


def asthmatic(cv, pid, birth, controller=2, **kw):
    child(cv, pid, birth, **kw).drugs(pid, "R03AC02", ASTHMA4)
    if controller:
        cv.drugs(pid, "R03BA02", TWO[:controller])
    return cv


def four_classes(cv, pid, missing=None):
    for atc in ("C07AB07", "C10AA05", "B01AC06", "C09AA05"):
        if atc != missing:
            cv.drug(pid, "2018-03-01", atc)
    return cv


def mi_patient(cv, pid, birth="1955-06", **kw):
    return adult(cv, pid, "CAR1", birth=birth, **kw).stay(pid, "2017-05-01", "I214")


def triple(cv, pid, classes=("C07AB07", "C08CA01", "C09AA05"), dates=TWO):
    for atc in classes:
        cv.drugs(pid, atc, dates)
    return cv


def crc_operated(cv, pid, when="2017-03-01", dx="C187"):
    return adult(cv, pid, "GAS1").stay(pid, when, dx, acts=(("HHFA008", when),))


def ibd_on(cv, pid, atc, n=3, ibd=True):
    adult(cv, pid, "GAS1").drugs(pid, atc, THREE[:n])
    if ibd:
        cv.ald(pid, "K500", "2015-01-01")
    return cv


def colonoscopy(cv, pid, when="2018-05-02", code="HHQE002"):
    return adult(cv, pid, "GAS1").ccam(pid, when, code)


def hp_triple(cv, pid, day="2018-03-01", days=None):
    adult(cv, pid, "GAS1")
    for atc, x in zip(("A02BC01", "J01CA04", "J01FA09"), days or (day, day, day), strict=True):
        cv.drug(pid, x, atc)
    return cv


def insulin_only(cv, pid, birth="1968-06"):
    return adult(cv, pid, "END1", birth=birth).drugs(pid, "A10AE04", TWO)


def diabetic_pod(cv, pid, pods, diabetic=True):
    adult(cv, pid, "END1")
    if diabetic:
        cv.drugs(pid, "A10BA02", THREE)
    for x in pods:
        cv.service(pid, x, nature=3134)
    return cv


DECKS: dict[str, list[Case]] = {
    "ENF-01": [
        ("in_denominator_and_numerator", lambda cv, p: asthmatic(cv, p, "2010-06"), True, True, "numerator"),
        ("denominator_only", lambda cv, p: asthmatic(cv, p, "2010-06", controller=0), True, False, "not_numerator:controller"),
        ("too_few_controller_deliveries", lambda cv, p: asthmatic(cv, p, "2010-06", controller=1), True, False, "not_numerator:controller"),
        ("too_few_deliveries", lambda cv, p: child(cv, p, "2010-06").drugs(p, "R03AC02", ASTHMA4[:2]), False, False, None),
        ("excluded_too_young", lambda cv, p: asthmatic(cv, p, "2018-03"), False, False, "excluded:age_1_16"),
        ("deceased", lambda cv, p: asthmatic(cv, p, "2010-06", death="2018-10-01"), False, False, "excluded:deceased"),
        ("not_the_doctors_patient", lambda cv, p: asthmatic(cv, p, "2010-06", doctor="GP2"), False, False, None),
        ("deliveries_in_previous_year", lambda cv, p: child(cv, p, "2010-06").drugs(p, "R03AC02", ("2017-01-10", "2017-03-10", "2017-05-10", "2017-07-10")), False, False, None),
    ],
    "ENF-02": [
        ("in_denominator_and_numerator", lambda cv, p: asthmatic(cv, p, "2008-01").ccam(p, "2018-04-01", "GLQP012"), True, True, "numerator"),
        ("denominator_only", lambda cv, p: asthmatic(cv, p, "2008-01"), True, False, "not_numerator:efr"),
        ("efr_in_previous_year", lambda cv, p: asthmatic(cv, p, "2008-01").ccam(p, "2017-04-01", "GLQP012"), True, False, "not_numerator:efr"),
        ("excluded_too_young", lambda cv, p: asthmatic(cv, p, "2014-01").ccam(p, "2018-04-01", "GLQP012"), False, False, "excluded:age_6_16"),
        ("not_asthmatic", lambda cv, p: child(cv, p, "2008-01").ccam(p, "2018-04-01", "GLQP012"), False, False, None),
    ],
    "ENF-04": [
        ("in_denominator_and_numerator", lambda cv, p: child(cv, p, "2017-03").drug(p, "2018-03-01", "J07BD52").service(p, "2018-08-01", nature=3332), True, True, "numerator"),
        ("denominator_only_one_dose", lambda cv, p: child(cv, p, "2017-03").drug(p, "2018-03-01", "J07BD52"), True, False, "not_numerator:two_ror_doses"),
        ("excluded_too_old", lambda cv, p: child(cv, p, "2016-10").drugs(p, "J07BD52", TWO), False, False, None),
        ("excluded_too_young", lambda cv, p: child(cv, p, "2017-09"), False, False, None),
        ("deceased", lambda cv, p: child(cv, p, "2017-03", death="2018-11-01"), False, False, "excluded:deceased"),
        ("not_the_doctors_patient", lambda cv, p: child(cv, p, "2017-03", doctor="GP2").drugs(p, "J07BD52", TWO), False, False, None),
    ],
    "ENF-05": [
        ("in_denominator_and_numerator", lambda cv, p: child(cv, p, "2017-09").drug(p, "2018-09-20", "J07AH07"), True, True, "numerator"),
        ("denominator_only", lambda cv, p: child(cv, p, "2017-09"), True, False, "not_numerator:menc_dose"),
        ("excluded_too_old", lambda cv, p: child(cv, p, "2017-02").drug(p, "2018-02-20", "J07AH07"), False, False, None),
    ],
    "ENF-06": [
        ("in_denominator_and_numerator", lambda cv, p: child(cv, p, "2016-01").drug(p, "2018-02-01", "J01CA04").drug(p, "2018-05-01", "J01DD13"), True, True, "numerator"),
        ("denominator_only", lambda cv, p: child(cv, p, "2016-01").drug(p, "2018-02-01", "J01CA04"), True, False, "not_numerator:c3g_c4g"),
        ("excluded_too_old", lambda cv, p: child(cv, p, "2013-01").drug(p, "2018-02-01", "J01DD13"), False, False, "excluded:age_under_4"),
        ("no_antibiotic", lambda cv, p: child(cv, p, "2016-01"), False, False, None),
        # L-21: age at the dispensing date (3 years 10 months in February), not at 31/12/N
        ("born_2014_03_c3g_2018_02", lambda cv, p: child(cv, p, "2014-03").drug(p, "2018-02-01", "J01DD13"), True, True, "numerator"),
    ],
    "ENF-07": [
        ("in_denominator_and_numerator", lambda cv, p: child(cv, p, "2010-01").drug(p, "2018-02-01", "J01CA04").drug(p, "2018-05-01", "J01DD08"), True, True, "numerator"),
        ("denominator_only", lambda cv, p: child(cv, p, "2010-01").drug(p, "2018-02-01", "J01CA04"), True, False, "not_numerator:c3g_c4g"),
        ("excluded_too_young", lambda cv, p: child(cv, p, "2016-01").drug(p, "2018-02-01", "J01CA04"), False, False, "excluded:age_4_16"),
        ("adult_not_in_mt_enfant_patientele", lambda cv, p: child(cv, p, "2001-01").drug(p, "2018-02-01", "J01CA04"), False, False, None),
        # L-21: the same child belongs to ENF-06, not ENF-07
        ("born_2014_03_c3g_2018_02", lambda cv, p: child(cv, p, "2014-03").drug(p, "2018-02-01", "J01DD13"), False, False, "excluded:age_4_16"),
    ],
    "ENF-10": [
        ("in_denominator_and_numerator", lambda cv, p: child(cv, p, "2012-05").service(p, "2018-07-01", nature=9421), True, True, "numerator"),
        ("denominator_only", lambda cv, p: child(cv, p, "2012-05"), True, False, "not_numerator:dental_exam"),
        ("not_a_mt_dents_age", lambda cv, p: child(cv, p, "2011-05").service(p, "2018-07-01", nature=9421), False, False, None),
        ("not_consuming_in_year", lambda cv, p: cv.patient(p, "2012-05").mt(p, "GP1"), False, False, None),
        # L-22: birthday-anchored cohort (1/7/N-1..30/6/N) and exam within 183 days of the birthday
        ("turned_6_nov_2017_exam_mar_2018", lambda cv, p: child(cv, p, "2011-11").service(p, "2018-03-01", nature=9421), True, True, "numerator"),
        ("turns_6_nov_2018_next_cohort", lambda cv, p: child(cv, p, "2012-11").service(p, "2018-12-01", nature=9421), False, False, None),
    ],
    "CAR-01": [
        ("in_denominator_and_numerator", lambda cv, p: four_classes(mi_patient(cv, p), p), True, True, "numerator"),
        ("denominator_only_no_statin", lambda cv, p: four_classes(mi_patient(cv, p), p, missing="C10AA05"), True, False, "not_numerator:statin"),
        ("mi_from_ald", lambda cv, p: four_classes(adult(cv, p, "CAR1").ald(p, "I252", "2016-01-01"), p), True, True, "numerator"),
        ("mi_too_old", lambda cv, p: four_classes(adult(cv, p, "CAR1").stay(p, "2015-05-01", "I214"), p), False, False, None),
        ("not_the_doctors_patient", lambda cv, p: four_classes(mi_patient(cv, p, contacts=1), p), False, False, None),
        ("deceased", lambda cv, p: four_classes(mi_patient(cv, p, death="2018-06-01"), p), False, False, "excluded:deceased"),
        # L-12: a dated MI event in the 24 months before N, not an old ALD that overlaps the window
        ("ald_old_mi_2005", lambda cv, p: four_classes(adult(cv, p, "CAR1").ald(p, "I252", "2005-01-01"), p), False, False, None),
        ("mi_dec_2018", lambda cv, p: four_classes(adult(cv, p, "CAR1").stay(p, "2018-12-10", "I214"), p), False, False, None),
    ],
    "CAR-02": [
        ("in_denominator_and_numerator", lambda cv, p: adult(cv, p, "CAR1").ald(p, "I500", "2016-01-01").drug(p, "2018-03-01", "C07AB07").drug(p, "2018-03-01", "C09CA01"), True, True, "numerator"),
        ("denominator_only", lambda cv, p: adult(cv, p, "CAR1").stay(p, "2015-02-01", "I509").drug(p, "2018-03-01", "C07AB07"), True, False, "not_numerator:acei_arb"),
        ("no_heart_failure", lambda cv, p: adult(cv, p, "CAR1").drug(p, "2018-03-01", "C07AB07"), False, False, None),
    ],
    "CAR-03": [
        ("in_denominator_and_numerator", lambda cv, p: triple(adult(cv, p, "CAR1"), p, ("C07AB07", "C08CA01", "C09AA05", "C03CA01")), True, True, "numerator"),
        ("denominator_only", lambda cv, p: triple(adult(cv, p, "CAR1"), p), True, False, "not_numerator:diuretic"),
        ("fixed_combination_counts_two_classes", lambda cv, p: triple(adult(cv, p, "CAR1"), p, ("C09DA01", "C08CA01")), True, True, "numerator"),
        ("two_classes_only", lambda cv, p: triple(adult(cv, p, "CAR1"), p, ("C07AB07", "C08CA01")), False, False, None),
        ("too_few_deliveries", lambda cv, p: triple(adult(cv, p, "CAR1"), p, dates=TWO[:1]), False, False, None),
        # L-16: Rasilez HCT counts its thiazide; the three classes must be taken together
        ("rasilez_hct_plus_bb_ccb", lambda cv, p: triple(adult(cv, p, "CAR1"), p, ("C09XA52", "C07AB07", "C08CA01")), True, True, "numerator"),
        ("class_switch_not_concurrent", lambda cv, p: adult(cv, p, "CAR1").drugs(p, "C07AB07", ("2018-01-10", "2018-02-10")).drugs(p, "C08CA01", ("2018-05-10", "2018-06-10")).drugs(p, "C09AA05", ("2018-09-10", "2018-10-10")), False, False, None),
    ],
    "CAR-04": [
        ("in_denominator_and_numerator", lambda cv, p: triple(adult(cv, p, "CAR1"), p).bio(p, "2018-04-01", 592).bio(p, "2018-04-01", 1610), True, True, "numerator"),
        ("denominator_only_no_potassium", lambda cv, p: triple(adult(cv, p, "CAR1"), p).bio(p, "2018-04-01", 592), True, False, "not_numerator:potassium"),
    ],
    "CAR-05": [
        ("in_denominator_and_numerator", lambda cv, p: adult(cv, p, "CAR1").drugs(p, "C09AA05", TWO).ccam(p, "2018-05-01", "EQQP008"), True, True, "numerator"),
        ("denominator_only", lambda cv, p: adult(cv, p, "CAR1").drugs(p, "C09AA05", TWO), True, False, "not_numerator:abpm"),
        ("too_few_deliveries", lambda cv, p: adult(cv, p, "CAR1").drugs(p, "C09AA05", TWO[:1]), False, False, None),
        # L-17: heart failure patients on a beta-blocker are not hypertensive patients
        ("heart_failure_on_bb", lambda cv, p: adult(cv, p, "CAR1").ald(p, "I500", "2016-01-01").drugs(p, "C07AB07", TWO), False, False, "excluded:no_other_indication"),
    ],
    "CAR-06": [
        ("in_denominator_and_numerator", lambda cv, p: adult(cv, p, "CAR1").drug(p, "2018-03-01", "B01AC04").drug(p, "2016-03-01", "B01AC24"), True, True, "numerator"),
        ("denominator_only", lambda cv, p: adult(cv, p, "CAR1").drug(p, "2018-03-01", "B01AC22"), True, False, "not_numerator:p2y12_year_n_minus_2"),
        ("treated_in_n_minus_1_only", lambda cv, p: adult(cv, p, "CAR1").drug(p, "2018-03-01", "B01AC04").drug(p, "2017-03-01", "B01AC04"), True, False, "not_numerator:p2y12_year_n_minus_2"),
        ("not_treated_in_n", lambda cv, p: adult(cv, p, "CAR1").drug(p, "2016-03-01", "B01AC04"), False, False, None),
        # L-15: Duoplavin by CIP13; Asasantine (dipyridamole + aspirin, also B01AC30) is not a P2Y12 inhibitor
        ("asasantine_n_and_n2", lambda cv, p: adult(cv, p, "CAR1").drug(p, "2018-03-01", "B01AC30", cip13=3400934323492).drug(p, "2016-03-01", "B01AC30", cip13=3400934323492), False, False, None),
        ("duoplavin_by_cip13", lambda cv, p: adult(cv, p, "CAR1").drug(p, "2018-03-01", "B01AC04").drug(p, "2016-03-01", "B01AC30", cip13=3400935902269), True, True, "numerator"),
    ],
    "CAR-07": [
        ("in_denominator_and_numerator", lambda cv, p: mi_patient(cv, p).bio(p, "2018-05-01", 2001), True, True, "numerator"),
        ("denominator_only", lambda cv, p: mi_patient(cv, p), True, False, "not_numerator:ldl_dosage"),
        ("excluded_too_old", lambda cv, p: mi_patient(cv, p, birth="1931-06").bio(p, "2018-05-01", 2001), False, False, "excluded:age_under_85"),
        # L-12
        ("ald_old_mi_2005", lambda cv, p: adult(cv, p, "CAR1").ald(p, "I252", "2005-01-01").bio(p, "2018-05-01", 2001), False, False, None),
        ("mi_dec_2018", lambda cv, p: adult(cv, p, "CAR1").stay(p, "2018-12-10", "I214").bio(p, "2018-05-01", 2001), False, False, None),
    ],
    "GAS-01": [
        ("in_denominator_and_numerator", lambda cv, p: crc_operated(cv, p).ccam(p, "2017-06-01", "ZCQK004").ccam(p, "2017-12-01", "ZBQK001"), True, True, "numerator"),
        ("denominator_only_first_half_only", lambda cv, p: crc_operated(cv, p).ccam(p, "2017-06-01", "ZCQK004"), True, False, "not_numerator:imaging_each_6_months"),
        ("surgery_without_crc", lambda cv, p: crc_operated(cv, p, dx="K573"), False, False, None),
        ("surgery_in_year_n", lambda cv, p: crc_operated(cv, p, when="2018-02-01"), False, False, None),
    ],
    "GAS-02": [
        ("in_denominator_and_numerator", lambda cv, p: crc_operated(cv, p).bio(p, "2017-04-01", 7327).bio(p, "2017-07-01", 7327).bio(p, "2017-09-20", 7327).bio(p, "2017-12-20", 7327), True, True, "numerator"),
        ("denominator_only_three_quarters", lambda cv, p: crc_operated(cv, p).bio(p, "2017-04-01", 7327).bio(p, "2017-07-01", 7327).bio(p, "2017-09-20", 7327), True, False, "not_numerator:ace_each_quarter"),
    ],
    "GAS-03": [
        ("in_denominator_and_numerator", lambda cv, p: ibd_on(cv, p, "A07EC02").bio(p, "2018-06-01", 2004), True, True, "numerator"),
        ("denominator_only", lambda cv, p: ibd_on(cv, p, "A07EC02"), True, False, "not_numerator:proteinuria"),
        ("too_few_deliveries", lambda cv, p: ibd_on(cv, p, "A07EC02", n=2).bio(p, "2018-06-01", 2004), False, False, None),
        ("excluded_no_ibd", lambda cv, p: ibd_on(cv, p, "A07EC02", ibd=False).bio(p, "2018-06-01", 2004), False, False, "excluded:ibd"),
    ],
    "GAS-04": [
        ("in_denominator_and_numerator", lambda cv, p: ibd_on(cv, p, "L04AX01").bio(p, "2018-02-01", 1104).bio(p, "2018-05-01", 1104).bio(p, "2018-09-01", 1104), True, True, "numerator"),
        ("denominator_only_two_nfs", lambda cv, p: ibd_on(cv, p, "L04AX01").bio(p, "2018-02-01", 1104).bio(p, "2018-05-01", 1104), True, False, "not_numerator:three_nfs"),
        ("ibd_from_hospital_stay", lambda cv, p: ibd_on(cv, p, "L04AX01", ibd=False).stay(p, "2016-04-01", "K519"), True, False, "not_numerator:three_nfs"),
    ],
    "GAS-05": [
        ("in_denominator_and_numerator", lambda cv, p: colonoscopy(cv, p).ccam(p, "2016-09-01", "HHFE002"), True, True, "numerator"),
        ("denominator_only", lambda cv, p: colonoscopy(cv, p), True, False, "not_numerator:prior_polypectomy"),
        ("polypectomy_same_day_only", lambda cv, p: colonoscopy(cv, p, code="HHFE002"), True, False, "not_numerator:prior_polypectomy"),
        ("polypectomy_too_old", lambda cv, p: colonoscopy(cv, p).ccam(p, "2014-09-01", "HHFE002"), True, False, "not_numerator:prior_polypectomy"),
        ("polypectomy_in_hospital", lambda cv, p: colonoscopy(cv, p).stay(p, "2017-01-10", "K635", acts=(("HHFE004", "2017-01-10"),)), True, True, "numerator"),
        # L-11: any colonoscopy of N is an index: polypectomy in February, control in November
        ("poly_feb_then_colo_nov", lambda cv, p: colonoscopy(cv, p, when="2018-02-01", code="HHFE002").ccam(p, "2018-11-05", "HHQE002"), True, True, "numerator"),
        # L-23: the complete colonoscopy act family, without rectosigmoidoscopy
        ("rectosigmoidoscopy_only", lambda cv, p: colonoscopy(cv, p, code="HJQE001"), False, False, None),
        ("colonoscopy_with_hemostasis", lambda cv, p: colonoscopy(cv, p, code="HHSE002"), True, False, "not_numerator:prior_polypectomy"),
    ],
    "GAS-06": [
        ("in_denominator_and_numerator", lambda cv, p: hp_triple(cv, p).bio(p, "2018-04-15", 5233), True, True, "numerator"),
        ("denominator_only", lambda cv, p: hp_triple(cv, p), True, False, "not_numerator:urea_breath_test"),
        ("bismuth_quadritherapy", lambda cv, p: adult(cv, p, "GAS1").drug(p, "2018-03-01", "A02BD08").bio(p, "2018-05-01", 5234), True, True, "numerator"),
        ("components_on_different_days", lambda cv, p: hp_triple(cv, p, days=("2018-03-01", "2018-03-05", "2018-03-09")), False, False, None),
        # L-24: observation end 31/12/N: a breath test in January N+1 does not count for N
        ("hp_dec_tru_jan", lambda cv, p: hp_triple(cv, p, day="2018-12-01").bio(p, "2019-01-20", 5233), True, False, "not_numerator:urea_breath_test"),
    ],
    "GAS-07": [
        ("in_denominator_and_numerator", lambda cv, p: colonoscopy(cv, p, when="2018-04-01").ccam(p, "2018-04-01", "HHFE002").service(p, "2018-02-01", nature=9434), True, True, "numerator"),
        ("denominator_only", lambda cv, p: colonoscopy(cv, p, when="2018-04-01").service(p, "2018-02-01", nature=9434), True, False, "not_numerator:adenoma_proxy"),
        ("excluded_no_screening_test", lambda cv, p: colonoscopy(cv, p, when="2018-04-01"), False, False, "excluded:after_screening_test"),
    ],
    "END-01": [
        ("in_denominator_and_numerator", lambda cv, p: insulin_only(cv, p).drug(p, "2018-03-01", "A10AB05"), True, True, "numerator"),
        ("denominator_only", lambda cv, p: insulin_only(cv, p), True, False, "not_numerator:rapid"),
        ("excluded_other_antidiabetic", lambda cv, p: insulin_only(cv, p).drug(p, "2018-03-01", "A10BA02"), False, False, "excluded:no_other_antidiabetic"),
        ("excluded_too_old", lambda cv, p: insulin_only(cv, p, birth="1943-06"), False, False, "excluded:age_under_70"),
        ("too_few_deliveries", lambda cv, p: adult(cv, p, "END1").drug(p, "2018-02-01", "A10AE04"), False, False, None),
        # L-20: insulin degludec + liraglutide (Xultophy) is not "insuline seule"
        ("insulin_glp1_combination", lambda cv, p: adult(cv, p, "END1").drugs(p, "A10AE56", TWO).drug(p, "2018-03-01", "A10AB05"), False, False, "excluded:no_other_antidiabetic"),
    ],
    "END-03": [
        ("in_denominator_and_numerator", lambda cv, p: adult(cv, p, "END1").stay(p, "2012-04-01", "C73", acts=(("KCFA005", "2012-04-02"),)).bio(p, "2018-03-01", 821).bio(p, "2018-03-01", 1483), True, True, "numerator"),
        ("denominator_only", lambda cv, p: adult(cv, p, "END1").stay(p, "2012-04-01", "C73", acts=(("KCFA005", "2012-04-02"),)).bio(p, "2018-03-01", 821), True, False, "not_numerator:anti_thyroglobulin"),
        ("surgery_too_old", lambda cv, p: adult(cv, p, "END1").stay(p, "2005-04-01", "C73", acts=(("KCFA005", "2005-04-02"),)), False, False, None),
        # L-19: total or completion thyroidectomy only
        ("lobectomy_c73_2012", lambda cv, p: adult(cv, p, "END1").stay(p, "2012-04-01", "C73", acts=(("KCFA001", "2012-04-02"),)).bio(p, "2018-03-01", 821).bio(p, "2018-03-01", 1483), False, False, None),
    ],
    "END-04": [
        ("in_denominator_and_numerator", lambda cv, p: adult(cv, p, "END1").stay(p, "2018-06-01", "E041", acts=(("KCFA001", "2018-06-01"),)).ccam(p, "2018-03-01", "KCHJ001"), True, True, "numerator"),
        ("denominator_only", lambda cv, p: adult(cv, p, "END1").stay(p, "2018-06-01", "E041", acts=(("KCFA001", "2018-06-01"),)), True, False, "not_numerator:prior_cytopunction"),
        ("cytopunction_too_early", lambda cv, p: adult(cv, p, "END1").stay(p, "2018-06-01", "D34", acts=(("KCGA001", "2018-06-01"),)).ccam(p, "2016-03-01", "KCHJ004"), True, False, "not_numerator:prior_cytopunction"),
    ],
    "END-06": [
        ("in_denominator_and_numerator", lambda cv, p: diabetic_pod(cv, p, ("2018-01-05", "2018-04-05", "2018-07-05", "2018-10-05")), True, True, "numerator"),
        ("denominator_only", lambda cv, p: diabetic_pod(cv, p, ("2018-01-05", "2018-04-05")), True, False, "not_numerator:four_pod"),
        ("excluded_not_diabetic", lambda cv, p: diabetic_pod(cv, p, ("2018-01-05",), diabetic=False), False, False, "excluded:diabetic"),
        ("no_podology", lambda cv, p: diabetic_pod(cv, p, ()), False, False, None),
    ],
    "END-07": [
        ("in_denominator_and_numerator", lambda cv, p: adult(cv, p, "END1").drugs(p, "A10AE04", ("2018-03-01", "2018-06-01")), True, True, "numerator"),
        ("denominator_only_nurse_injections", lambda cv, p: adult(cv, p, "END1").drug(p, "2018-03-01", "A10AE04").service(p, "2018-03-10", nature=3111), True, False, "not_numerator:nurse_injections"),
        ("not_an_initiation", lambda cv, p: adult(cv, p, "END1").drug(p, "2017-06-01", "A10AE04").drug(p, "2018-03-01", "A10AE04"), False, False, None),
        ("excluded_too_old", lambda cv, p: adult(cv, p, "END1", birth="1930-01").drug(p, "2018-03-01", "A10AE04"), False, False, "excluded:age_under_80"),
    ],
    "END-08": [
        ("in_denominator_and_numerator", lambda cv, p: adult(cv, p, "END1").drug(p, "2017-04-01", "A10AE04", prescriber=None), True, True, "numerator"),
        ("denominator_only", lambda cv, p: adult(cv, p, "END1").drug(p, "2017-04-01", "A10AE04", prescriber="END1"), True, False, "not_numerator:hospital_initiation"),
        ("initiated_after_a_stay", lambda cv, p: adult(cv, p, "END1").stay(p, "2017-03-20", "E110", exit="2017-03-25").drug(p, "2017-04-01", "A10AE04", prescriber="END1"), True, True, "numerator"),
        ("initiated_in_year_n", lambda cv, p: adult(cv, p, "END1").drug(p, "2018-04-01", "A10AE04", prescriber=None), False, False, None),
        # L-18: age at the initiation; only a diabetes-related stay makes a hospital initiation
        ("aged79_at_init_80_at_ref", lambda cv, p: adult(cv, p, "END1", birth="1937-06").drug(p, "2017-04-01", "A10AE04", prescriber=None), True, True, "numerator"),
        ("stay_unrelated_to_diabetes", lambda cv, p: adult(cv, p, "END1").stay(p, "2017-03-20", "S7200", exit="2017-03-25").drug(p, "2017-04-01", "A10AE04", prescriber="END1"), True, False, "not_numerator:hospital_initiation"),
    ],
}
