"""Writes the train/test CSVs of the tree benchmarks (shared by trees_speed and trees_quality).

speed DIR: make_classification(200k × 20, 10 informative, 5 classes, random_state=0), 75/25 split.
quality DIR DATASETS SEEDS: for each ADBench set and each seed s in 0..<SEEDS, a stratified 70/30
    split (random_state=s), target `label`: NAME_sS_train.csv / NAME_sS_test.csv.
small DIR DATASETS SEEDS: issue 17's small-data regime (340 rows, 22 positives, features scaled
    to [0, 1]) drawn from each ADBench set: 22 anomalies and 318 normal rows sampled with
    random_state=0, min-max scaled over those 340 rows, then split as `quality` does
    (small_NAME_sS_train.csv / small_NAME_sS_test.csv).
"""
import os
import sys

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

ADBENCH = ["annthyroid", "breastw", "cardio", "mammography", "pima", "satellite", "shuttle", "thyroid"]


def speed(out):
    train, test = os.path.join(out, "speed_train.csv"), os.path.join(out, "speed_test.csv")
    if os.path.exists(train) and os.path.exists(test):
        return
    X, y = make_classification(n_samples=200_000, n_features=20, n_informative=10, n_classes=5, random_state=0)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(20)])
    df["label"] = y
    tr, te = train_test_split(df, test_size=0.25, random_state=0)
    tr.to_csv(train, index=False, float_format="%.9g")
    te.to_csv(test, index=False, float_format="%.9g")


def splits(df, prefix, out, seeds):
    for s in range(seeds):
        tr, te = train_test_split(df, test_size=0.3, stratify=df["label"], random_state=s)
        tr.to_csv(os.path.join(out, f"{prefix}_s{s}_train.csv"), index=False, float_format="%.9g")
        te.to_csv(os.path.join(out, f"{prefix}_s{s}_test.csv"), index=False, float_format="%.9g")


def quality(out, datasets, seeds):
    for name in ADBENCH:
        splits(pd.read_csv(os.path.join(datasets, f"{name}.csv")), name, out, seeds)


def small(out, datasets, seeds, rows=340, positives=22):
    for name in ADBENCH:
        df = pd.read_csv(os.path.join(datasets, f"{name}.csv"))
        state = np.random.RandomState(0)
        part = pd.concat([df[df.label == 1].sample(positives, random_state=state),
                          df[df.label == 0].sample(rows - positives, random_state=state)])
        part = part.sample(frac=1, random_state=state).reset_index(drop=True)
        X = part.drop(columns="label").astype("float64")
        span = (X.max() - X.min()).replace(0, 1)
        X = (X - X.min()) / span
        X["label"] = part["label"]
        splits(X, f"small_{name}", out, seeds)


if __name__ == "__main__":
    kind, out = sys.argv[1], sys.argv[2]
    if kind == "speed":
        speed(out)
    elif kind == "quality":
        quality(out, sys.argv[3], int(sys.argv[4]))
    else:
        small(out, sys.argv[3], int(sys.argv[4]))
