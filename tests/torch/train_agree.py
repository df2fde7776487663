#!/usr/bin/python3
"""PyTorch's side of the training agreement test (tests/test_train_torch.c).

Reads a case file written by the C test -- the network, its initial weights and the
batches, all as exact decimal reprs -- trains the same nn.Sequential(Linear, act, ...,
Linear) with torch.optim, and prints the loss of every step (before its update, as
vp_trainer_step reports it) and, at the end, every parameter.

Case file, one record per line:
  net DTYPE ACT LOSS n0 n1 ... nL classes      DTYPE float32|float64; ACT relu|tanh; LOSS cross_entropy|mse
  optim sgd LR MOMENTUM | optim adam LR
  W l v1 ... vk      layer l = 1..L+1 weight [fan_out, fan_in] row-major
  b l v1 ... vk      its bias
  x n v1 ... vk      one batch's inputs [n, n0] (the batches in step order)
  y n c1 ... cn      its labels
Output:
  loss STEP VALUE    STEP = 1.. (repr of a Python float)
  param l W|b v1 ... (after the last step)
Usage: /usr/bin/python3 tests/torch/train_agree.py CASEFILE   (torch 1.13; single-tensor
optimizer path, foreach=False, as torch.optim takes on CPU).
"""
import sys

import torch
import torch.nn.functional as F

ACTS = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}


def main(path):
    torch.set_num_threads(1)
    net = None
    weights, biases, batches = {}, {}, []
    opt_spec = None
    with open(path) as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            if w[0] == "net":
                dtype = {"float32": torch.float32, "float64": torch.float64}[w[1]]
                act, loss_name = w[2], w[3]
                widths = [int(v) for v in w[4:]]
                net = (dtype, act, loss_name, widths)
            elif w[0] == "optim":
                opt_spec = w[1:]
            elif w[0] in ("W", "b"):
                vals = [float(v) for v in w[2:]]
                (weights if w[0] == "W" else biases)[int(w[1])] = vals
            elif w[0] == "x":
                batches.append([int(w[1]), [float(v) for v in w[2:]], None])
            elif w[0] == "y":
                batches[-1][2] = [int(v) for v in w[2:]]
    dtype, act, loss_name, widths = net
    classes = widths[-1]
    layers = []
    for l in range(1, len(widths)):
        lin = torch.nn.Linear(widths[l - 1], widths[l]).to(dtype)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(weights[l], dtype=torch.float64).view(widths[l], widths[l - 1]))
            lin.bias.copy_(torch.tensor(biases[l], dtype=torch.float64))
        layers.append(lin)
        if l < len(widths) - 1:
            layers.append(ACTS[act]())
    model = torch.nn.Sequential(*layers)
    if opt_spec[0] == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=float(opt_spec[1]), momentum=float(opt_spec[2]),
                              foreach=False)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=float(opt_spec[1]), foreach=False)
    for step, (n, xs, ys) in enumerate(batches, 1):
        x = torch.tensor(xs, dtype=torch.float64).view(n, widths[0]).to(dtype)
        y = torch.tensor(ys, dtype=torch.long)
        opt.zero_grad()
        out = model(x)
        if loss_name == "cross_entropy":
            loss = F.cross_entropy(out, y)
        else:
            loss = F.mse_loss(out, F.one_hot(y, classes).to(dtype))
        loss.backward()
        opt.step()
        print("loss", step, repr(float(loss)))
    lins = [m for m in model if isinstance(m, torch.nn.Linear)]
    for l, lin in enumerate(lins, 1):
        print("param", l, "W", " ".join(repr(float(v)) for v in lin.weight.detach().flatten().tolist()))
        print("param", l, "b", " ".join(repr(float(v)) for v in lin.bias.detach().tolist()))


if __name__ == "__main__":
    main(sys.argv[1])
