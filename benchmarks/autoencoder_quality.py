"""PyTorch peer for benchmarks/autoencoder_quality.sh, and the side-by-side report.

  autoencoder_quality.py peer DATA_DIR SEEDS...      -> one JSON line per (dataset, seed) with roc_auc
  autoencoder_quality.py report TRIAGE.jsonl PEER.jsonl

The peer follows Triage's protocol exactly (README "Autoencoder"): columns standardised with the
population standard deviation (constant columns scaled by 1), d -> 32 -> 8 -> 32 -> d with ReLU
hidden layers and a linear output, MSE, Adam(lr 1e-3, betas 0.9/0.999, eps 1e-8), L2 1e-5 on the
weights only, batch 256 reshuffled every epoch, 50 epochs, 10 % of rows held out for early stopping
(patience 10, best weights restored), score = mean squared reconstruction error of each row,
fit and scored on the whole file (ADBench's unsupervised protocol). Initialisation is PyTorch's
default for nn.Linear. Single thread (PyTorch is fastest on 1 thread for layers this small).
"""
import copy
import json
import sys
from pathlib import Path

import numpy as np

DATASETS = ["cardio", "shuttle", "thyroid", "breastw", "mammography", "pima", "satellite", "annthyroid"]
HIDDEN = [32, 8, 32]
EPOCHS, BATCH, LR, WEIGHT_DECAY, VALIDATION, PATIENCE = 50, 256, 1e-3, 1e-5, 0.1, 10


def load(path):
    import pandas as pd
    frame = pd.read_csv(path)
    y = frame.pop("label").to_numpy() != 0
    return frame.to_numpy(dtype=np.float32), y


def standardise(x):
    mean = x.astype(np.float64).mean(axis=0)
    sd = x.astype(np.float64).std(axis=0)
    sd[~(sd > 1e-12 * np.maximum(1, np.abs(mean)))] = 1
    return ((x - mean) / sd).astype(np.float32)


def fit_score(x, seed):
    import torch
    from torch import nn
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    n, d = x.shape
    sizes = [d] + HIDDEN + [d]
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    biases = [p for name, p in model.named_parameters() if name.endswith("bias")]
    optimiser = torch.optim.Adam([{"params": weights, "weight_decay": WEIGHT_DECAY},
                                  {"params": biases, "weight_decay": 0.0}], lr=LR)
    data = torch.from_numpy(x)
    order = rng.permutation(n)
    n_val = int(n * VALIDATION)
    val, train = data[order[:n_val]], data[order[n_val:]]
    batch = min(BATCH, len(train))
    best, best_loss, since = copy.deepcopy(model.state_dict()), float("inf"), 0
    for _ in range(EPOCHS):
        model.train()
        perm = torch.from_numpy(rng.permutation(len(train)))
        for start in range(0, len(train), batch):
            xb = train[perm[start:start + batch]]
            optimiser.zero_grad()
            loss = ((model(xb) - xb) ** 2).mean()
            loss.backward()
            optimiser.step()
        if n_val > 0:
            with torch.no_grad():
                v = ((model(val) - val) ** 2).mean().item()
            if v < best_loss:
                best_loss, best, since = v, copy.deepcopy(model.state_dict()), 0
            else:
                since += 1
                if since >= PATIENCE:
                    break
    if n_val > 0:
        model.load_state_dict(best)
    with torch.no_grad():
        return ((model(data) - data) ** 2).mean(dim=1).numpy()


def peer(data_dir, seeds):
    import torch
    from sklearn.metrics import roc_auc_score
    torch.set_num_threads(1)
    for name in DATASETS:
        x, y = load(Path(data_dir) / f"{name}.csv")
        x = standardise(x)
        for seed in seeds:
            scores = fit_score(x, seed)
            print(json.dumps({"dataset": name, "seed": seed, "roc_auc": float(roc_auc_score(y, scores))}), flush=True)


def report(triage_path, peer_path):
    def read(path):
        table = {}
        for line in Path(path).read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                table.setdefault(row["dataset"], []).append(row["roc_auc"])
        return table
    triage, torch = read(triage_path), read(peer_path)
    print(f"{'dataset':<12} {'Triage mean':>11} {'spread':>7} {'sd':>6}   {'PyTorch mean':>12} {'spread':>7} {'sd':>6}")
    means = {"t": [], "p": []}
    spreads = {"t": [], "p": []}
    for name in DATASETS:
        t, p = np.array(triage.get(name, [np.nan])), np.array(torch.get(name, [np.nan]))
        means["t"].append(t.mean()); means["p"].append(p.mean())
        spreads["t"].append(t.max() - t.min()); spreads["p"].append(p.max() - p.min())
        print(f"{name:<12} {t.mean():>11.3f} {t.max() - t.min():>7.3f} {t.std():>6.3f}   "
              f"{p.mean():>12.3f} {p.max() - p.min():>7.3f} {p.std():>6.3f}")
    mt, mp = np.mean(means["t"]), np.mean(means["p"])
    print(f"{'MEAN':<12} {mt:>11.3f} {np.mean(spreads['t']):>7.3f} {'':>6}   {mp:>12.3f} {np.mean(spreads['p']):>7.3f}")
    print(f"Triage - PyTorch mean ROC-AUC: {mt - mp:+.3f}  (target: >= 0)  "
          f"mean seed spread (max-min): Triage {np.mean(spreads['t']):.3f}, PyTorch {np.mean(spreads['p']):.3f}")


if __name__ == "__main__":
    if sys.argv[1] == "peer":
        peer(sys.argv[2], [int(s) for s in sys.argv[3:]])
    elif sys.argv[1] == "report":
        report(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
