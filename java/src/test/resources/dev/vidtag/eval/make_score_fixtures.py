"""Expected official scores computed by scikit-learn, an implementation independent of VidTag's.

Run from this directory with a Python that has scikit-learn and numpy:
    python make_score_fixtures.py
Writes score_cases.json: for each case the true and predicted category ids and sklearn's
micro/macro F1 over lv1 (the first two digits of the id) and lv2 (the id), as the official
scorer computed them (f1_score with average='micro' / 'macro').
"""
import json
import pathlib

import numpy as np
from sklearn.metrics import f1_score

HERE = pathlib.Path(__file__).parent
# The 200 official ids: the first column of category_ids.tsv in VidTag's main resources.
TSV = HERE.parents[4] / "main" / "resources" / "dev" / "vidtag" / "data" / "category_ids.tsv"


def official_ids():
    lines = TSV.read_text().splitlines()[1:]
    return [line.split("\t")[0] for line in lines if line.strip()]


def score(truth, pred):
    lv1_t = [t[:2] for t in truth]
    lv1_p = [p[:2] for p in pred]
    return {
        "lv1_micro_f1": f1_score(lv1_t, lv1_p, average="micro"),
        "lv1_macro_f1": f1_score(lv1_t, lv1_p, average="macro"),
        "lv2_micro_f1": f1_score(truth, pred, average="micro"),
        "lv2_macro_f1": f1_score(truth, pred, average="macro"),
    }


def main():
    ids = official_ids()
    rng = np.random.default_rng(2022)
    cases = []
    # long-tailed truth, predictions right 60% of the time, else a random class
    for n, correct in [(50, 0.6), (500, 0.6), (2000, 0.3)]:
        weights = 1.0 / np.arange(1, len(ids) + 1)
        weights /= weights.sum()
        truth = list(rng.choice(ids, size=n, p=weights))
        pred = [t if rng.random() < correct else str(rng.choice(ids)) for t in truth]
        cases.append({"name": f"random {n} at {correct}", "truth": truth, "pred": pred})
    # predictions confined to the right lv1 group but the wrong lv2 class
    truth = [ids[i] for i in (0, 1, 2, 3, 10, 11)]
    pred = [ids[i] for i in (1, 0, 3, 2, 11, 10)]
    cases.append({"name": "right group, wrong class", "truth": truth, "pred": pred})
    for case in cases:
        case["expected"] = score(case["truth"], case["pred"])
    (HERE / "score_cases.json").write_text(json.dumps(cases, indent=1) + "\n")


if __name__ == "__main__":
    main()
