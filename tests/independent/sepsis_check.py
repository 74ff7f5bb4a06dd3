"""An independent count of the sepsis cohort, to check lib/data/sepsis_cohort.ts.

    python3 tests/independent/sepsis_check.py MIMIC_III_DIR COHORT.csv

Written apart from the kit (Python's standard library only, no code shared with it), from the
cohort's definition in docs/mimic.md: it recounts the inclusion steps that need no SOFA (ICU
stays, adults, suspected infection, first stay per patient), recomputes the window of every stay
in the kit's CSV, each step's tonicity-adjusted IV fluids and norepinephrine-equivalent
vasopressor rate, the two cut points (medians of the positive doses) and the 9 actions, and
prints them as JSON for the test to compare with the kit's report and CSV. MIMIC-III layout only.
"""
import csv
import gzip
import json
import re
import sys
from datetime import datetime

ABX = re.compile(
    "amikacin|amoxicillin|ampicillin|azithromycin|aztreonam|bactrim|cefazolin|cefepime|cefotaxime|"
    "cefotetan|cefoxitin|cefpodoxime|ceftaroline|ceftazidime|ceftriaxone|cefuroxime|cephalexin|"
    "chloramphenicol|ciprofloxacin|clarithromycin|clindamycin|colistin|daptomycin|doripenem|"
    "doxycycline|ertapenem|erythromycin|gentamicin|imipenem|levofloxacin|linezolid|meropenem|"
    "metronidazole|minocycline|moxifloxacin|nafcillin|nitrofurantoin|oxacillin|penicillin|"
    "piperacillin|polymyxin|rifampin|streptomycin|sulfamethoxazole|tetracycline|ticarcillin|"
    "tigecycline|tobramycin|unasyn|vancomycin|zosyn",
    re.I,
)
NOT_SYSTEMIC = {"TP", "TOPICAL", "OU", "OS", "OD", "AU", "AS", "AD", "EAR", "OPHTHALMIC", "IN",
                "INHALATION", "NEB", "VG", "PR"}
NOT_SYSTEMIC_NAME = re.compile("ophth|otic|cream|ointment|gel|lotion|desens|drops", re.I)
TONICITY = {30176: .25, 30315: .25, 30161: .3, 30020: .5, 30015: .5, 225823: .5, 30321: .5, 30186: .5,
            30211: .5, 30353: .5, 42742: .5, 42244: .5, 225159: .5, 227531: 2.75, 30143: 3, 225161: 3,
            30009: 5, 220862: 5, 30030: 6.66, 220995: 6.66, 227533: 6.66, 228341: 8}
FLUIDS = {225158, 225943, 226089, 225168, 225828, 220862, 220970, 220864, 225159, 220995, 225170, 225825,
          227533, 225161, 227531, 225171, 225827, 225941, 225823, 228341, 30018, 30021, 30015, 30296,
          30020, 30066, 30001, 30030, 30060, 30005, 30321, 30006, 30061, 30009, 30179, 30190, 30143,
          30160, 30008, 30168, 30186, 30211, 30353, 30159, 30007, 30185, 30063, 30094, 30352, 30014,
          30011, 30210, 46493, 45399, 46516, 40850, 30176, 30161, 30381, 30315, 42742, 30180, 46087,
          41491, 30004, 42698, 42244}
# drug -> (items, factor to norepinephrine mcg/kg/min)
PRESSORS = {"norepinephrine": ({30120, 221906, 30047}, 1), "epinephrine": ({30119, 221289, 30044, 30309}, 1),
            "vasopressin": ({30051, 222315}, 5), "phenylephrine": ({30128, 221749, 30127}, .45),
            "dopamine": ({221662, 30043, 30307}, .01)}


def rows(path):
    with gzip.open(path, "rt", newline="") as f:
        for r in csv.DictReader(f):
            yield {k.lower(): v for k, v in r.items()}


def hours(text):
    if not text:
        return None
    fmt = "%Y-%m-%d %H:%M:%S" if len(text) > 10 else "%Y-%m-%d"
    return (datetime.strptime(text, fmt) - datetime(1970, 1, 1)).total_seconds() / 3600


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    if n == 0:
        return float("nan")
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def main(mimic, cohort_csv):
    t = lambda name: f"{mimic}/{name}.csv.gz"
    stays = {r["icustay_id"]: r for r in rows(t("ICUSTAYS"))}
    dob = {r["subject_id"]: hours(r["dob"]) for r in rows(t("PATIENTS"))}
    counts = {"icu_stays": len(stays)}
    adults = {s: r for s, r in stays.items()
              if min(91.4, (hours(r["intime"]) - dob[r["subject_id"]]) / (24 * 365.2425)) >= 18}
    counts["adults"] = len(adults)
    abx, cult = {}, {}
    for r in rows(t("PRESCRIPTIONS")):
        if ABX.search(r["drug"]) and r["route"].strip().upper() not in NOT_SYSTEMIC \
                and not NOT_SYSTEMIC_NAME.search(r["drug"]) and hours(r["startdate"]) is not None:
            abx.setdefault(r["subject_id"], []).append(hours(r["startdate"]))
    for r in rows(t("MICROBIOLOGYEVENTS")):
        h = hours(r["charttime"] or r["chartdate"])
        if h is not None:
            cult.setdefault(r["subject_id"], []).append(h)
    onset = {}
    for s, r in adults.items():
        a_, c_ = abx.get(r["subject_id"], []), cult.get(r["subject_id"], [])
        lo, hi = hours(r["intime"]) - 24, hours(r["outtime"])
        pairs = [a for a in a_ if lo <= a <= hi and any(a <= c <= a + 24 for c in c_)]
        pairs += [c for c in c_ if lo <= c <= hi and any(c <= a <= c + 72 for a in a_)]
        if pairs:
            onset[s] = min(pairs)
    counts["suspected_infection"] = len(onset)
    first = {}
    for s in sorted(onset, key=lambda s: onset[s]):
        first.setdefault(adults[s]["subject_id"], s)
    counts["first_per_patient"] = len(first)

    kit = {}
    with open(cohort_csv, newline="") as f:
        for r in csv.DictReader(f):
            kit.setdefault(r["id"][4:], []).append(r)
    windows = {}
    for s in kit:
        r = stays[s]
        start = max(onset[s] - 24, hours(r["intime"]))
        end = min(onset[s] + 48, hours(r["outtime"]))
        windows[s] = (start, int((end - start) // 4))
    fluid = {s: [0.0] * n for s, (_, n) in windows.items()}
    pressor = {s: {d: [0.0] * n for d in PRESSORS} for s, (_, n) in windows.items()}
    drug_of = {i: d for d, (items, _) in PRESSORS.items() for i in items}
    weight = {}
    for r in rows(t("INPUTEVENTS_MV")):
        s = r["icustay_id"]
        if s not in windows or r["statusdescription"].lower() == "rewritten":
            continue
        if r["patientweight"] and float(r["patientweight"]) > 0:
            weight.setdefault(s, float(r["patientweight"]))
        item, a, b = int(r["itemid"]), hours(r["starttime"]), hours(r["endtime"])
        start, n = windows[s]
        for k in range(n):
            lo, hi = start + 4 * k, start + 4 * k + 4
            share = (max(0, min(b, hi) - max(a, lo)) / (b - a)) if b > a else (1 if lo <= a < hi else 0)
            if item in FLUIDS and r["amount"] and float(r["amount"]) > 0:
                fluid[s][k] += float(r["amount"]) * TONICITY.get(item, 1) * share
            elif item in drug_of and r["rate"] and b > lo and a < hi:
                d = drug_of[item]
                rate = float(r["rate"]) * PRESSORS[d][1]
                unit = r["rateuom"].lower()
                if d == "vasopressin":
                    rate = rate if unit == "units/min" else rate / 60 if unit == "units/hour" else None
                else:
                    w = float(r["patientweight"]) if r["patientweight"] and float(r["patientweight"]) > 0 else 80
                    rate = rate if unit == "mcg/kg/min" else rate / w if unit == "mcg/min" else None
                if rate is not None:
                    pressor[s][d][k] = max(pressor[s][d][k], rate)
    cv = {}
    for r in rows(t("INPUTEVENTS_CV")):
        s = r["icustay_id"]
        if s not in windows:
            continue
        item, h = int(r["itemid"]), hours(r["charttime"])
        start, n = windows[s]
        if item in FLUIDS and r["amount"] and float(r["amount"]) > 0:
            k = int((h - start) // 4)
            if 0 <= k < n and h >= start:
                fluid[s][k] += float(r["amount"]) * TONICITY.get(item, 1)
        elif item in drug_of and r["rate"]:
            d = drug_of[item]
            unit = r["rateuom"].lower()
            rate = float(r["rate"]) * PRESSORS[d][1]
            if d == "vasopressin":
                rate = rate if unit == "umin" else rate / 60 if unit in ("uhr", "unitshr") else None
            else:
                rate = rate if unit == "mcgkgmin" else rate / 80 if unit == "mcgmin" else None
            if rate is not None:
                cv.setdefault((s, d), []).append((h, rate))
    for (s, d), series in cv.items():
        series.sort()
        start, n = windows[s]
        for i, (h, rate) in enumerate(series):
            until = min(series[i + 1][0], h + 4) if i + 1 < len(series) else h + 1
            for k in range(n):
                lo, hi = start + 4 * k, start + 4 * k + 4
                if rate > 0 and until > lo and h < hi:
                    pressor[s][d][k] = max(pressor[s][d][k], rate)
    # Actions on every step but the last of each stay.
    fl = {s: fluid[s][:-1] for s in windows}
    vp = {s: [sum(pressor[s][d][k] for d in PRESSORS) for k in range(windows[s][1] - 1)] for s in windows}
    fcut = median([x for s in fl for x in fl[s] if x > 0])
    vcut = median([x for s in vp for x in vp[s] if x > 0])
    b = lambda x, cut: 0 if x <= 0 else 1 if x <= cut else 2
    actions = {s: [3 * b(f, fcut) + b(v, vcut) for f, v in zip(fl[s], vp[s])] for s in windows}
    mismatched = [s for s in kit if [int(r["action"]) for r in kit[s][:-1]] != actions[s]]
    steps = {s: n for s, (_, n) in windows.items()}
    print(json.dumps({"counts": counts, "fluidCut": fcut, "vasopressorCut": vcut,
                      "stepsMismatched": [s for s in kit if len(kit[s]) != steps[s]],
                      "actionsMismatched": mismatched, "stays": len(kit)}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
