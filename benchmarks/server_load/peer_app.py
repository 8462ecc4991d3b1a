"""The server a Python user would write for Triage's `POST /v1/score` (model-file form).

FastAPI + uvicorn + scikit-learn's IsolationForest, fitted by `prepare.py` with the same
n_estimators, max_samples and features as Triage's model and loaded once per worker. It takes
the same JSON body (`{"rows": [{"name": value, ...}, ...]}`) and answers the same shape as
Triage (`{"results": [{"score": s, "anomaly": 0|1}, ...]}`), where score is the paper's
s(x, psi) in 0..1 (sklearn's `-score_samples`) and anomaly is `predict == -1`. Triage also adds
`top_feature`, which costs it more work; the peer is spared that.

Run: PEER_MODEL=model.pkl uvicorn peer_app:app --workers 2 --log-level warning
"""
import os
import pickle
from typing import Optional

import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel

with open(os.environ["PEER_MODEL"], "rb") as f:
    MODEL = pickle.load(f)
FEATURES = MODEL["features"]
FOREST = MODEL["forest"]

app = FastAPI()


class Rows(BaseModel):
    rows: list[dict[str, Optional[float]]]


@app.get("/healthz")
async def healthz():
    # What server_load.sh polls before it starts the load, as it does for Triage.
    return {"status": "ok"}


@app.post("/v1/score")
async def score(body: Rows):
    # `async def`, not `def`: a `def` route hops to FastAPI's thread pool per request, which
    # only costs here (the work is short and CPU-bound, and there are as many workers as cores).
    x = np.array([[row.get(name, np.nan) for name in FEATURES] for row in body.rows], dtype=np.float32)
    raw = FOREST.score_samples(x)  # -s(x, psi)
    # One pass: predict() would score again; anomaly = decision_function < 0 = what predict says.
    anomaly = (raw - FOREST.offset_) < 0
    return {"results": [{"score": float(-v), "anomaly": int(a)} for v, a in zip(raw, anomaly)]}
