"""An independent count of the sepsis cohort, to check lib/data/sepsis_cohort.ts.

    python3 tests/independent/sepsis_check.py MIMIC_III_DIR COHORT.csv

Written apart from the kit (Python's standard library only, no code shared with it), from the
cohort's definition in docs/mimic.md: it recounts every inclusion step (ICU stays, adults,
suspected infection, first stay per patient, SOFA >= 2 near onset, at least 3 steps), each
stay's window, each step's SOFA from its components, tonicity-adjusted IV fluids and
norepinephrine-equivalent vasopressor rate, the two cut points (medians of the positive doses)
and the 9 actions, and prints them as JSON for the test to compare with the kit's report and CSV
(whose `sofa` column is never imputed). MIMIC-III layout only.
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
    for s in first.values():
        r = stays[s]
        start = max(onset[s] - 24, hours(r["intime"]))
        end = min(onset[s] + 48, hours(r["outtime"]))
        if int((end - start) // 4) >= 1:
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
    vaso_step = {s: [sum(pressor[s][d][k] for d in PRESSORS) for k in range(windows[s][1])] for s in windows}
    sofa = sofa_per_step(t, stays, windows, vaso_step)
    septic = [s for s in windows
              if any(abs(windows[s][0] + 4 * k - onset[s]) <= 24 and x >= 2 for k, x in enumerate(sofa[s]))]
    counts["sofa_at_least_2"] = len(septic)
    final = [s for s in septic if windows[s][1] >= 3]
    counts["at_least_3_steps"] = len(final)
    sofa_mismatched = [s for s in final if s in kit and [int(float(r["sofa"])) for r in kit[s]] != sofa[s]]
    # Actions on every step but the last of each stay of the final cohort.
    fl = {s: fluid[s][:-1] for s in final}
    vp = {s: vaso_step[s][:-1] for s in final}
    fcut = median([x for s in fl for x in fl[s] if x > 0])
    vcut = median([x for s in vp for x in vp[s] if x > 0])
    b = lambda x, cut: 0 if x <= 0 else 1 if x <= cut else 2
    actions = {s: [3 * b(f, fcut) + b(v, vcut) for f, v in zip(fl[s], vp[s])] for s in final}
    mismatched = [s for s in final if s in kit and [int(r["action"]) for r in kit[s][:-1]] != actions[s]]
    steps = {s: n for s, (_, n) in windows.items()}
    sofa_counts = [0] * 25
    for s in final:
        for x in sofa[s]:
            sofa_counts[x] += 1
    print(json.dumps({"counts": counts, "fluidCut": fcut, "vasopressorCut": vcut,
                      "staysOnlyInKit": sorted(set(kit) - set(final)),
                      "staysOnlyHere": sorted(set(final) - set(kit)),
                      "stepsMismatched": [s for s in final if s in kit and len(kit[s]) != steps[s]],
                      "actionsMismatched": mismatched, "sofaMismatched": sofa_mismatched,
                      "sofaCounts": sofa_counts, "stays": len(final)}))


# SOFA's inputs: (chart items, lab items, plausible range); percent FiO2 items are divided by 100.
SOFA_VARS = {
    "pao2": ({779, 490, 3785, 3838, 3837}, {50821}, (10, 700)),
    "fio2": ({223835, 3420, 3422, 190}, set(), (0.21, 1)),
    "platelets": ({828, 227457, 3789}, {51265}, (1, 2000)),
    "bilirubin": ({1538, 848, 225690}, {50885}, (0.05, 80)),
    "map": ({220181, 220052, 225312, 224322, 6702, 443, 52, 456}, set(), (10, 200)),
    "gcs": ({198}, set(), (3, 15)),
    "creatinine": ({791, 1525, 220615, 3750}, {50912}, (0.1, 30)),
}
GCS_PARTS = {220739, 223900, 223901}
PERCENT_FIO2 = {223835, 3420, 3422}
VENT = {720, 223849, 223848, 220339, 506, 505, 224700, 224686, 224684, 684, 224421, 3083, 2566, 654, 3050, 681,
        2311, 224687, 450, 448, 445, 224697, 444, 224695, 535, 224696, 543}
URINE = {40055, 43175, 40069, 40094, 40715, 40473, 40085, 40057, 40056, 40405, 40428, 40096, 40651, 226559, 226560,
         227510, 226561, 227489, 226584, 226563, 226564, 226565, 226557, 226558}


def band(v, edges, descending):
    if v is None:
        return 0
    return sum(1 for e in edges if (v < e if descending else v >= e))


def sofa_per_step(t, stays, windows, vaso_step):
    """SOFA of every step of every windowed stay, from the raw tables (Vincent et al. 1996, docs/mimic.md)."""
    chart_of = {i: v for v, (c, _, _) in SOFA_VARS.items() for i in c}
    lab_of = {i: v for v, (_, l, _) in SOFA_VARS.items() for i in l}
    subject_stay = {stays[s]["subject_id"]: s for s in windows}
    obs = {s: [] for s in windows}
    parts = {s: {} for s in windows}
    vent = {s: [] for s in windows}

    def add(s, h, var, x):
        start, n = windows[s]
        if not (start - 24 <= h < start + 4 * n):
            return
        if var == "fio2" and x > 1:
            x = x / 100
        lo, hi = SOFA_VARS[var][2]
        if lo <= x <= hi:
            obs[s].append((h, var, x))

    for r in rows(t("CHARTEVENTS")):
        s = r["icustay_id"]
        if s not in windows:
            continue
        item, h = int(r["itemid"]), hours(r["charttime"])
        start, n = windows[s]
        if item in VENT:
            if start - 24 <= h < start + 4 * n:
                vent[s].append(h)
            continue
        if r["valuenum"] == "":
            continue
        x = float(r["valuenum"])
        if item in GCS_PARTS:
            if start - 24 <= h < start + 4 * n:
                parts[s].setdefault(h, {})[item] = x
        elif item in chart_of:
            add(s, h, chart_of[item], x / 100 if item in PERCENT_FIO2 else x)
    for s, by_time in parts.items():
        for h, p in by_time.items():
            if len(p) == 3 and 3 <= sum(p.values()) <= 15:
                obs[s].append((h, "gcs", sum(p.values())))
    for r in rows(t("LABEVENTS")):
        s = subject_stay.get(r["subject_id"])
        item = int(r["itemid"])
        if s is not None and item in lab_of and r["valuenum"] != "":
            add(s, hours(r["charttime"]), lab_of[item], float(r["valuenum"]))
    urine = {s: [] for s in windows}
    for r in rows(t("OUTPUTEVENTS")):
        s = r["icustay_id"]
        if s in windows and int(r["itemid"]) in URINE and r["value"] != "" and 0 <= float(r["value"]) <= 5000:
            urine[s].append((hours(r["charttime"]), float(r["value"])))
    out = {}
    for s, (start, n) in windows.items():
        ms = sorted(obs[s], key=lambda o: o[0])
        last, k, scores = {}, 0, []
        for step in range(n):
            a, b = start + 4 * step, start + 4 * step + 4
            while k < len(ms) and ms[k][0] < a:
                last[ms[k][1]] = ms[k][2]
                k += 1
            here = {}
            while k < len(ms) and ms[k][0] < b:
                here.setdefault(ms[k][1], []).append(ms[k][2])
                k += 1
            for var, xs in here.items():
                last[var] = sum(xs) / len(xs)
            ventilated = any(a - 4 <= h < b for h in vent[s])
            fio2 = last.get("fio2", None if ventilated else 0.21)
            pf = last["pao2"] / fio2 if "pao2" in last and fio2 is not None else None
            resp = band(pf, [400, 300, 200, 100], True)
            if not ventilated:
                resp = min(resp, 2)
            v = vaso_step[s][step]
            mp = last.get("map")
            cardio = 4 if v > 0.1 else 3 if v > 0 else 1 if mp is not None and mp < 70 else 0
            ur = [x for h, x in urine[s] if a <= h < b]
            renal = band(last.get("creatinine"), [1.2, 2, 3.5, 5], False)
            if ur:
                per_day = sum(ur) * 24 / 4
                renal = max(renal, 4 if per_day < 200 else 3 if per_day < 500 else 0)
            scores.append(resp + band(last.get("platelets"), [150, 100, 50, 20], True)
                          + band(last.get("bilirubin"), [1.2, 2, 6, 12], False) + cardio
                          + band(last.get("gcs"), [15, 13, 10, 6], True) + renal)
        out[s] = scores
    return out


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
