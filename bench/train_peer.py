#!/usr/bin/python3
"""train_peer: issue 14's training workload written the way a careful PyTorch user would.

Fashion-MNIST (Debian's dataset-fashion-mnist IDX files, read with gzip + torch.frombuffer),
standardized globally with the training set's mean and std (as varprop does), held in
memory as float32 tensors; nn.Sequential(Linear(784, 256), ReLU, ... 30 hidden layers
..., Linear(256, 10)); weights by torch.nn.init (kaiming_normal_ = he_normal, fan_in,
relu gain; or xavier_uniform_), zero biases; torch.optim.SGD(lr, momentum);
F.cross_entropy; shuffled batches of 128 (torch.randperm per epoch, drop_last=False).
The epoch loop (batch indexing, forward, backward, step) is timed; loading and the test
evaluation (under torch.no_grad, batches of 1000) are not.

Prints one JSON object: {"samples", "seconds", "samples_per_s", "test_acc", "test_loss", "final_loss",
"threads", "init"}.

usage: train_peer.py [--threads T] [--epochs E] [--init he_normal|xavier_uniform]
                     [--depth L] [--width N] [--batch B] [--lr X] [--momentum X] [--seed S]
The "tuned" peer is this script with OPENBLAS_NUM_THREADS=1 and --threads 2 (torch's
OpenMP pool alone, OpenBLAS single-threaded inside it); "as written" has no variable.
"""
import argparse
import gzip
import json
import os
import time

import torch
import torch.nn.functional as F

DIR = "/usr/share/datasets/fashion-mnist"


def idx(path, header):
    with gzip.open(os.path.join(DIR, path), "rb") as f:
        data = bytearray(f.read())
    return torch.frombuffer(data, dtype=torch.uint8, offset=header)


def load():
    xtr = idx("train-images-idx3-ubyte.gz", 16).view(-1, 784).to(torch.float64)
    ytr = idx("train-labels-idx1-ubyte.gz", 8).to(torch.int64)
    xte = idx("t10k-images-idx3-ubyte.gz", 16).view(-1, 784).to(torch.float64)
    yte = idx("t10k-labels-idx1-ubyte.gz", 8).to(torch.int64)
    mean, std = xtr.mean(), xtr.std(unbiased=False)
    f = lambda x: ((x - mean) / std).to(torch.float32)
    return f(xtr), ytr, f(xte), yte


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--init", default="he_normal")
    ap.add_argument("--depth", type=int, default=30)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr, ytr, xte, yte = load()
    layers, n_in = [], 784
    for _ in range(a.depth):
        layers += [torch.nn.Linear(n_in, a.width), torch.nn.ReLU()]
        n_in = a.width
    layers.append(torch.nn.Linear(n_in, 10))
    model = torch.nn.Sequential(*layers)
    for m in model:
        if isinstance(m, torch.nn.Linear):
            if a.init == "he_normal":
                torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            else:
                torch.nn.init.xavier_uniform_(m.weight)
            torch.nn.init.zeros_(m.bias)
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum)
    n = xtr.shape[0]
    samples, loss = 0, float("nan")
    t0 = time.perf_counter()
    for _ in range(a.epochs):
        perm = torch.randperm(n)
        for i in range(0, n, a.batch):
            idx_b = perm[i:i + a.batch]
            x, y = xtr[idx_b], ytr[idx_b]
            opt.zero_grad()
            out = model(x)
            l = F.cross_entropy(out, y)
            l.backward()
            opt.step()
            samples += x.shape[0]
        loss = float(l)
    secs = time.perf_counter() - t0
    correct, test_loss = 0, 0.0
    with torch.no_grad():
        for i in range(0, xte.shape[0], 1000):
            out = model(xte[i:i + 1000])
            correct += int((out.argmax(1) == yte[i:i + 1000]).sum())
            test_loss += float(F.cross_entropy(out, yte[i:i + 1000], reduction="sum"))
    print(json.dumps({"samples": samples, "seconds": round(secs, 4), "samples_per_s": round(samples / secs, 1),
                      "test_acc": correct / xte.shape[0], "test_loss": test_loss / xte.shape[0], "final_loss": loss, "threads": a.threads,
                      "init": a.init}))


if __name__ == "__main__":
    main()
