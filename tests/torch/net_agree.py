#!/usr/bin/python3
"""PyTorch's side of the block-network training agreement test (tests/test_net_torch.c).

Reads a case file written by the C test -- a block network (core/net.h's flat layer
list), its initial parameters and the batches, all as exact decimal reprs -- trains the
same network with torch.nn.functional / torch.nn modules and torch.optim, and prints the
loss of every step (before its update, as vp_net_trainer_step reports it), then, in
eval mode (batchnorm on its running statistics), the loss on an evaluation batch and
every batchnorm layer's running mean and variance.

Case file, one record per line:
  net DTYPE C H W classes          DTYPE float32|float64; the input shape
  optim sgd LR MOMENTUM | optim adam LR
  layer I conv2d OUT K PAD ACT     ACT relu|tanh|linear (stride 1)
  layer I dense OUT ACT
  layer I batchnorm | layernorm | rmsnorm | flatten
  layer I avgpool2d K | maxpool2d K
  layer I residual SKIP ALPHA TRAINED    out = out[SKIP] (-1: the input) + alpha out[I-1];
                                         TRAINED 1: alpha a parameter starting at ALPHA
  W I v...  /  b I v...            layer I's weight (PyTorch layout, row-major) and bias
  x n v...  /  y n c...            one training batch (in step order)
  ex n v... /  ey n c...           the evaluation batch
Output:
  loss STEP VALUE                  STEP = 1..
  eval VALUE                       the evaluation batch's mean loss in eval mode
  running I mean|var v...          batchnorm layer I's running statistics after training
Norm layers have PyTorch's elementwise affine (weight 1, bias 0 at construction):
BatchNorm2d/1d(C) (momentum 0.1, eps 1e-5), LayerNorm(shape of one example, eps 1e-5),
RMSNorm as x / sqrt(mean x^2 + eps) * weight with eps the dtype's machine epsilon
(torch 1.13 has no nn.RMSNorm; this is its formula). Cross-entropy, batch mean.
Usage: /usr/bin/python3 tests/torch/net_agree.py CASEFILE   (single-tensor optimizer
path, foreach=False).
"""
import sys

import torch
import torch.nn.functional as F

ACTS = {"relu": torch.relu, "tanh": torch.tanh, "linear": lambda z: z}


def main(path):
    torch.set_num_threads(1)
    layers, W, b, batches, evb = {}, {}, {}, [], None
    with open(path) as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            if w[0] == "net":
                dtype = {"float32": torch.float32, "float64": torch.float64}[w[1]]
                shape = [int(v) for v in w[2:5]]
            elif w[0] == "optim":
                opt_spec = w[1:]
            elif w[0] == "layer":
                layers[int(w[1])] = w[2:]
            elif w[0] in ("W", "b"):
                (W if w[0] == "W" else b)[int(w[1])] = [float(v) for v in w[2:]]
            elif w[0] in ("x", "ex"):
                rec = [int(w[1]), [float(v) for v in w[2:]], None]
                if w[0] == "x":
                    batches.append(rec)
                else:
                    evb = rec
            elif w[0] == "y":
                batches[-1][2] = [int(v) for v in w[2:]]
            elif w[0] == "ey":
                evb[2] = [int(v) for v in w[2:]]
    n = len(layers)
    spec = [layers[i] for i in range(n)]
    t64 = lambda v: torch.tensor(v, dtype=torch.float64)

    # Build the parameters and modules, following the shapes with a dummy example.
    params, mods, alpha = [], {}, {}
    h = torch.zeros([1] + shape, dtype=dtype)
    outs = []
    for i, s in enumerate(spec):
        inp = outs[i - 1] if i else h
        k = s[0]
        if k in ("conv2d", "dense"):
            out = int(s[1])
            wt = t64(W[i]).to(dtype)
            wt = wt.view(out, inp.shape[1], int(s[2]), int(s[2])) if k == "conv2d" else wt.view(out, -1)
            mods[i] = (torch.nn.Parameter(wt), torch.nn.Parameter(t64(b[i]).to(dtype)))
            params += list(mods[i])
            o = F.conv2d(inp, mods[i][0], mods[i][1], padding=int(s[3])) if k == "conv2d" else \
                F.linear(inp, mods[i][0], mods[i][1])
        elif k == "batchnorm":
            mods[i] = (torch.nn.BatchNorm2d if inp.dim() == 4 else torch.nn.BatchNorm1d)(inp.shape[1]).to(dtype)
            params += list(mods[i].parameters())
            o = inp
        elif k == "layernorm":
            mods[i] = torch.nn.LayerNorm(list(inp.shape[1:])).to(dtype)
            params += list(mods[i].parameters())
            o = inp
        elif k == "rmsnorm":
            mods[i] = torch.nn.Parameter(torch.ones(inp.shape[1:], dtype=dtype))
            params.append(mods[i])
            o = inp
        elif k in ("avgpool2d", "maxpool2d"):
            o = (F.avg_pool2d if k == "avgpool2d" else F.max_pool2d)(inp, int(s[1]))
        elif k == "flatten":
            o = inp.flatten(1)
        elif k == "residual":
            if s[3] == "1":
                alpha[i] = torch.nn.Parameter(torch.tensor([float(s[2])], dtype=dtype))
                params.append(alpha[i])
            else:
                alpha[i] = float(s[2])
            o = inp
        else:
            raise SystemExit("net_agree.py: unknown layer %s" % k)
        outs.append(o.detach())

    def forward(x):
        outs = []
        for i, s in enumerate(spec):
            inp = outs[i - 1] if i else x
            k = s[0]
            if k == "conv2d":
                o = ACTS[s[4]](F.conv2d(inp, mods[i][0], mods[i][1], padding=int(s[3])))
            elif k == "dense":
                o = ACTS[s[2]](F.linear(inp, mods[i][0], mods[i][1]))
            elif k in ("batchnorm", "layernorm"):
                o = mods[i](inp)
            elif k == "rmsnorm":
                dims = list(range(1, inp.dim()))
                o = inp * torch.rsqrt(inp.pow(2).mean(dim=dims, keepdim=True) + torch.finfo(dtype).eps) * mods[i]
            elif k in ("avgpool2d", "maxpool2d"):
                o = (F.avg_pool2d if k == "avgpool2d" else F.max_pool2d)(inp, int(s[1]))
            elif k == "flatten":
                o = inp.flatten(1)
            else:  # residual
                sk = int(s[1])
                o = (outs[sk] if sk >= 0 else x) + alpha[i] * inp
            outs.append(o)
        return outs[-1]

    def train_mode(on):
        for m in mods.values():
            if isinstance(m, torch.nn.Module):
                m.train(on)

    if opt_spec[0] == "sgd":
        opt = torch.optim.SGD(params, lr=float(opt_spec[1]), momentum=float(opt_spec[2]), foreach=False)
    else:
        opt = torch.optim.Adam(params, lr=float(opt_spec[1]), foreach=False)
    train_mode(True)
    for step, (m, xs, ys) in enumerate(batches, 1):
        x = t64(xs).view([m] + shape).to(dtype)
        y = torch.tensor(ys, dtype=torch.long)
        opt.zero_grad()
        loss = F.cross_entropy(forward(x), y)
        loss.backward()
        opt.step()
        print("loss", step, repr(float(loss)))
    train_mode(False)
    with torch.no_grad():
        m, xs, ys = evb
        out = forward(t64(xs).view([m] + shape).to(dtype))
        print("eval", repr(float(F.cross_entropy(out, torch.tensor(ys, dtype=torch.long)))))
    for i, s in enumerate(spec):
        if s[0] == "batchnorm":
            print("running", i, "mean", " ".join(repr(float(v)) for v in mods[i].running_mean.tolist()))
            print("running", i, "var", " ".join(repr(float(v)) for v in mods[i].running_var.tolist()))


if __name__ == "__main__":
    main(sys.argv[1])
