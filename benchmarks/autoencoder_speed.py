"""PyTorch peer for benchmarks/autoencoder_speed.sh.

  autoencoder_speed.py make PATH ROWS COLS      -> writes the benchmark CSV (seeded, 4 latent factors + noise)
  autoencoder_speed.py peer PATH THREADS EPOCHS -> one JSON line: wall and CPU seconds per epoch
  autoencoder_speed.py command TRIAGE PATH EPOCHS -> one JSON line: `triage fit autoencoder` with
      its defaults for EPOCHS epochs, whole process: wall and CPU (children's user + sys) per epoch

Same network and loop as Triage: standardised inputs, d -> 32 -> 8 -> 32 -> d, ReLU hidden,
linear output, MSE, Adam lr 1e-3 with weight decay 1e-5 on weights, batch 256 reshuffled each
epoch, every row trained (no held-out split, as the Triage side of this benchmark).
"""
import json
import sys
import time

import numpy as np


def make(path, rows, cols):
    rng = np.random.default_rng(42)
    latent = rng.normal(size=(rows, 4))
    mix = rng.normal(size=(4, cols))
    x = latent @ mix + 0.1 * rng.normal(size=(rows, cols))
    header = ",".join(f"f{j}" for j in range(cols))
    np.savetxt(path, x.astype(np.float32), delimiter=",", header=header, comments="", fmt="%.7g")


def peer(path, threads, epochs):
    import torch
    from torch import nn
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32)
    x = (x - x.mean(0)) / np.where(x.std(0) > 0, x.std(0), 1)
    data = torch.from_numpy(x.astype(np.float32))
    n, d = data.shape
    sizes = [d, 32, 8, 32, d]
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    biases = [p for name, p in model.named_parameters() if name.endswith("bias")]
    optimiser = torch.optim.Adam([{"params": weights, "weight_decay": 1e-5},
                                  {"params": biases, "weight_decay": 0.0}], lr=1e-3)
    times, cpu_times = [], []
    for _ in range(epochs):
        start, cpu_start = time.perf_counter(), time.process_time()
        perm = torch.randperm(n)
        for s in range(0, n, 256):
            xb = data[perm[s:s + 256]]
            optimiser.zero_grad()
            loss = ((model(xb) - xb) ** 2).mean()
            loss.backward()
            optimiser.step()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    times.sort()
    cpu_times.sort()
    print(json.dumps({"threads": threads, "seconds_per_epoch_median": times[len(times) // 2],
                      "seconds_per_epoch_best": times[0],
                      "cpu_seconds_per_epoch_median": cpu_times[len(cpu_times) // 2], "torch": torch.__version__}))


def command(triage, path, epochs):
    import os
    import resource
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([triage, "fit", "autoencoder", path, "--output", os.path.join(folder, "ae.model"),
                        "--epochs", str(epochs)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(json.dumps({"epochs": epochs, "seconds": wall, "seconds_per_epoch": wall / epochs,
                      "cpu_seconds_per_epoch": cpu / epochs}))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif sys.argv[1] == "peer":
        peer(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif sys.argv[1] == "command":
        command(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit(__doc__)
