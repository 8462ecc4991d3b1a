"""Writes the train/test CSVs of the tree benchmarks (shared by trees_speed and trees_quality).

speed DIR: make_classification(200k × 20, 10 informative, 5 classes, random_state=0), 75/25 split.
quality DIR: stratified 70/30 split (random_state=0) of each ADBench set, target `label`.
"""
import os
import sys

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


def quality(out, datasets):
    for name in ADBENCH:
        df = pd.read_csv(os.path.join(datasets, f"{name}.csv"))
        tr, te = train_test_split(df, test_size=0.3, stratify=df["label"], random_state=0)
        tr.to_csv(os.path.join(out, f"{name}_train.csv"), index=False, float_format="%.9g")
        te.to_csv(os.path.join(out, f"{name}_test.csv"), index=False, float_format="%.9g")


if __name__ == "__main__":
    kind, out = sys.argv[1], sys.argv[2]
    if kind == "speed":
        speed(out)
    else:
        quality(out, sys.argv[3])
