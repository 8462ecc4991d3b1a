"""scikit-learn peer of trees_quality.sh: RandomForestClassifier(100) and DecisionTreeClassifier
on the stratified 70/30 splits written by trees_data.py; prints one JSON object per data set."""
import json
import sys

import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score
from sklearn.tree import DecisionTreeClassifier

data_dir, name = sys.argv[1], sys.argv[2]
train = pd.read_csv(f"{data_dir}/{name}_train.csv")
test = pd.read_csv(f"{data_dir}/{name}_test.csv")
X, y = train.drop(columns="label"), train["label"]
Xt, yt = test.drop(columns="label"), test["label"]
out = {"set": name}
for key, model in [("forest", RandomForestClassifier(n_estimators=100, n_jobs=-1, random_state=0)),
                   ("tree", DecisionTreeClassifier(random_state=0))]:
    model.fit(X, y)
    out[key] = roc_auc_score(yt, model.predict_proba(Xt)[:, 1])
print(json.dumps(out))
