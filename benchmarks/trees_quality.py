"""scikit-learn peer of trees_quality.sh: RandomForestClassifier(100) (max_features as given:
sqrt or all) and DecisionTreeClassifier on the stratified 70/30 splits written by trees_data.py,
seed s fitted with random_state=s; prints one JSON object per split."""
import json
import sys

import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score
from sklearn.tree import DecisionTreeClassifier

data_dir, prefix, seeds, max_features = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
for s in range(seeds):
    train = pd.read_csv(f"{data_dir}/{prefix}_s{s}_train.csv")
    test = pd.read_csv(f"{data_dir}/{prefix}_s{s}_test.csv")
    X, y = train.drop(columns="label"), train["label"]
    Xt, yt = test.drop(columns="label"), test["label"]
    out = {"set": prefix, "seed": s}
    mf = None if max_features == "all" else max_features
    for key, model in [("forest", RandomForestClassifier(n_estimators=100, max_features=mf, bootstrap=True,
                                                         n_jobs=-1, random_state=s)),
                       ("tree", DecisionTreeClassifier(random_state=s))]:
        model.fit(X, y)
        out[key] = roc_auc_score(yt, model.predict_proba(Xt)[:, 1])
    print(json.dumps(out), flush=True)
