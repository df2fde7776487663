#!/usr/bin/python3
"""lenet_peer: issue 15's original comparison written the way a careful PyTorch user would.

The network of experiments/seed_lenet5_xavier_vs_he.json: Conv2d(1, 6, 3) -> ReLU ->
MaxPool2d(2) -> Flatten -> Linear(1014, 128) -> ReLU -> Linear(128, 10); weights by
torch.nn.init -- glorot_uniform = xavier_uniform_, he_uniform = kaiming_uniform_(a=0,
mode=fan_in, nonlinearity="relu") = Keras' VarianceScaling(2, fan_in, uniform), both with
PyTorch's conv fans -- zero biases; torch.optim.Adam(lr 1e-3, betas (0.9, 0.999),
eps 1e-7: Keras' values in PyTorch's rule, as varprop's adam); F.cross_entropy; shuffled
batches of 64 (torch.randperm per epoch, drop_last=False). Fashion-MNIST is loaded and
standardized by train_peer.load (the training set's global mean and std, as varprop).
The epoch loop is timed; loading and the evaluation (no_grad, batches of 1000) are not.

Prints one JSON object per epoch ({"epoch", "test_acc", "test_loss", "train_loss"}) and a
last one {"samples", "seconds", "samples_per_s", "threads", "init"}.

usage: lenet_peer.py [--threads T] [--epochs E] [--init glorot_uniform|he_uniform] [--seed S]
                     [--steps K (stop after K steps: bench/lenet_bench.py --quick)]
The "tuned" peer is this script with OPENBLAS_NUM_THREADS=1 and --threads 2.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_peer import load  # noqa: E402


def model_for(init):
    m = torch.nn.Sequential(torch.nn.Conv2d(1, 6, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                            torch.nn.Linear(6 * 13 * 13, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    for layer in m:
        if isinstance(layer, (torch.nn.Conv2d, torch.nn.Linear)):
            if init == "he_uniform":
                torch.nn.init.kaiming_uniform_(layer.weight, a=0, mode="fan_in", nonlinearity="relu")
            else:
                torch.nn.init.xavier_uniform_(layer.weight)
            torch.nn.init.zeros_(layer.bias)
    return m


def evaluate(model, x, y):
    loss, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, x.shape[0], 1000):
            out = model(x[i:i + 1000])
            loss += float(F.cross_entropy(out, y[i:i + 1000], reduction="sum"))
            correct += int((out.argmax(1) == y[i:i + 1000]).sum())
    return loss / x.shape[0], correct / x.shape[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--init", default="he_uniform", choices=["glorot_uniform", "he_uniform"])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=-1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr, ytr, xte, yte = load()
    xtr, xte = xtr.view(-1, 1, 28, 28), xte.view(-1, 1, 28, 28)
    model = model_for(a.init)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    n = xtr.shape[0]
    samples, secs, steps = 0, 0.0, 0
    for ep in range(a.epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        tl = 0.0
        for i in range(0, n, a.batch):
            idx_b = perm[i:i + a.batch]
            x, y = xtr[idx_b], ytr[idx_b]
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            samples += x.shape[0]
            tl = float(loss)
            steps += 1
            if steps == a.steps:
                break
        secs += time.perf_counter() - t0
        test_loss, test_acc = evaluate(model, xte, yte)
        print(json.dumps({"epoch": ep + 1, "test_acc": test_acc, "test_loss": round(test_loss, 5),
                          "train_loss": round(tl, 5)}), flush=True)
        if steps == a.steps:
            break
    print(json.dumps({"samples": samples, "seconds": round(secs, 4), "samples_per_s": round(samples / secs, 1),
                      "threads": a.threads, "init": a.init}))


if __name__ == "__main__":
    main()
