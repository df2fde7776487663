#!/usr/bin/env python3
"""torch_peer: the varprop measurement written the way a PyTorch user would.

Reads the same experiment config JSON varprop reads (the subset the benchmark
configs use: seeds, network.{depth,width,input_dim,activation,init,bias},
input.{distribution,batch}, and sweeps over network.activation, network.init,
network.init.<param>, network.depth, network.width, input.batch) and, for every
variant x seed, in the same order as varprop:

  plain float32 CPU tensors, torch.set_num_threads(--threads)
  h0 ~ N(0,1) [B, n0]
  z^l = h^{l-1} @ W^l.T + b^l ; h^l = phi(z^l) ; z.retain_grad(), h.retain_grad()
  loss = (h^L * g).sum() / B with g ~ N(0,1)   (random readout; /B makes W.grad the
         batch mean of per-example gradients, as varprop's dL/dW; z.grad and h.grad
         are then 1/B of varprop's dL/dz, dL/dh, so their variances are multiplied
         by B^2 before writing -- the same quantity varprop reports)
  per layer: .mean() / .var(unbiased=False) of z, h, z.grad, h.grad, W.grad,
  unit_sq_mean, unit_var (per-unit batch moments of h), dead_frac, saturated_frac
  (phi' computed in closed form from z and h), nonfinite count.

Weights via torch.nn.init (xavier_uniform_, xavier_normal_, kaiming_uniform_,
kaiming_normal_, orthogonal_, trunc_normal_, normal_; lecun_normal = trunc_normal_
at +-2 std with the Keras correction std = sqrt(1/fan_in)/0.87962566103423978;
mean_field = normal_(0, sigma_w/sqrt(fan_in)) weights, normal_(0, sigma_b) biases).

Writes <out>/layers.csv with varprop's column layout. Prints the in-process
compute time (after `import torch`) on stderr as `torch_peer: compute_seconds=S`.

usage: torch_peer.py CONFIG.json -o DIR [--threads T]
"""
import argparse
import copy
import csv
import itertools
import json
import math
import os
import sys
import time

import torch

TRUNC2_STD = 0.87962566103423978


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("config")
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("--threads", type=int, default=1)
    return ap.parse_args()


def as_entry(v):
    """'name' or {'name': ..., params} -> (name, params dict)."""
    if isinstance(v, str):
        return v, {}
    v = dict(v)
    return v.pop("name"), v


def set_dotted(root, key, value):
    parts = key.split(".")
    node = root
    for p in parts[:-1]:
        child = node.get(p)
        if child is None:
            child = node[p] = {}
        elif isinstance(child, str):
            child = node[p] = {"name": child}
        node = child
    node[parts[-1]] = copy.deepcopy(value)


def label(v):
    if isinstance(v, str):
        return v
    if isinstance(v, (int, float)):
        return "%.10g" % v
    name, params = as_entry(v)
    if not params:
        return name
    return name + "(" + ",".join("%s=%.6g" % (k, p) for k, p in params.items()) + ")"


def variants(cfg):
    sweep = cfg.get("sweep", {})
    keys = list(sweep.keys())
    for combo in itertools.product(*[sweep[k] for k in keys]):
        c = copy.deepcopy(cfg)
        for k, v in zip(keys, combo):
            set_dotted(c, k, v)
        yield keys, [label(v) for v in combo], c


# ---- activations: phi, and phi' in closed form (for dead/saturated bookkeeping) ----
ACTS = {
    # name: (phi, dphi(z, h), bounded peak of |phi'| or None)
    "identity": (lambda z: z, lambda z, h: torch.ones_like(z), None),
    "relu": (torch.relu, lambda z, h: (z > 0).to(z.dtype), None),
    "tanh": (torch.tanh, lambda z, h: 1 - h * h, 1.0),
    "sigmoid": (torch.sigmoid, lambda z, h: h * (1 - h), 0.25),
    "selu": (torch.nn.functional.selu,
             lambda z, h: torch.where(z > 0, torch.full_like(z, 1.0507009873554805),
                                      h + 1.0507009873554805 * 1.6732632423543772), None),
    "gelu": (torch.nn.functional.gelu,
             lambda z, h: 0.5 * torch.erfc(-z * math.sqrt(0.5))
             + z * torch.exp(-0.5 * z * z) / math.sqrt(2 * math.pi), None),
}
ACT_ALIASES = {"linear": "identity"}


def init_weight(W, b, name, p, fan_in, act):
    """W: [fan_out, fan_in] (torch layout), in place with torch.nn.init."""
    init = torch.nn.init
    with torch.no_grad():
        if name in ("xavier_uniform", "glorot_uniform"):
            init.xavier_uniform_(W, gain=p.get("gain", 1.0))
        elif name in ("xavier_normal", "glorot_normal"):
            init.xavier_normal_(W, gain=p.get("gain", 1.0))
        elif name in ("he_uniform", "kaiming_uniform"):
            init.kaiming_uniform_(W, a=p.get("a", 0.0), mode="fan_in", nonlinearity="leaky_relu")
        elif name in ("he_normal", "kaiming_normal"):
            init.kaiming_normal_(W, a=p.get("a", 0.0), mode="fan_in", nonlinearity="leaky_relu")
        elif name == "lecun_normal":
            std = math.sqrt(1.0 / fan_in) / TRUNC2_STD
            init.trunc_normal_(W, mean=0.0, std=std, a=-2 * std, b=2 * std)
        elif name == "orthogonal":
            gain = p.get("gain", 1.0)
            if gain == "auto":
                gain = init.calculate_gain(act if act != "identity" else "linear")
            init.orthogonal_(W, gain=gain)
        elif name == "trunc_normal":
            init.trunc_normal_(W, mean=p.get("mean", 0.0), std=p.get("std", 1.0),
                               a=p.get("a", -2.0), b=p.get("b", 2.0))
        elif name == "mean_field":
            init.normal_(W, 0.0, p.get("sigma_w", 1.0) / math.sqrt(fan_in))
            init.normal_(b, 0.0, p.get("sigma_b", 0.0))
            return True  # sets the bias too
        else:
            raise SystemExit("torch_peer: init %r is not supported" % name)
    return False


def one_run(net, act_name, init_name, init_p, B, seed):
    torch.manual_seed(seed)
    L, width, n0 = net["depth"], net["width"], net.get("input_dim", net["width"])
    phi, dphi, dpeak = ACTS[act_name]
    widths = [n0] + [width] * L
    Ws, bs = [], []
    for l in range(1, L + 1):
        W = torch.empty(widths[l], widths[l - 1])
        b = torch.zeros(widths[l])
        init_weight(W, b, init_name, init_p, widths[l - 1], act_name)
        W.requires_grad_(True)
        Ws.append(W)
        bs.append(b)
    x = torch.randn(B, n0)
    zs, hs = [], []
    h = x
    for l in range(L):
        z = h @ Ws[l].T + bs[l]
        z.retain_grad()
        h = phi(z)
        h.retain_grad()
        zs.append(z)
        hs.append(h)
    g = torch.randn(B, widths[L])
    loss = (h * g).sum() / B
    loss.backward()

    rows = []
    B2 = float(B) * float(B)
    sat_level = 0.05 * dpeak if dpeak is not None else -1.0
    with torch.no_grad():
        for l in range(L):
            z, h, W = zs[l], hs[l], Ws[l]
            zg, hg, wg = z.grad, h.grad, W.grad
            nonfinite = sum(int((~torch.isfinite(t)).sum()) for t in (z, h, zg, hg, wg))
            d = dphi(z, h)
            hm = h.mean(0)
            rows.append([
                l + 1, widths[l], widths[l + 1],
                float(z.mean()), float(z.var(unbiased=False)),
                float(h.mean()), float(h.var(unbiased=False)),
                float(zg.var(unbiased=False)) * B2, float(hg.var(unbiased=False)) * B2,
                float(wg.var(unbiased=False)),
                float((hm * hm).mean()), float(h.var(0, unbiased=False).mean()),
                float((d == 0).all(0).to(torch.float32).mean()),
                float((d.abs() < sat_level).to(torch.float32).mean()),
                nonfinite,
            ])
    return rows


def num(v):
    if isinstance(v, int):
        return str(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return "%.9g" % v


def main():
    a = parse_args()
    t0 = time.perf_counter()
    torch.set_num_threads(a.threads)
    with open(a.config) as f:
        cfg = json.load(f)
    seeds = cfg.get("seeds", 1)
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "layers.csv")
    with open(path + ".tmp", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        header = None
        for v, (keys, labels, c) in enumerate(variants(cfg)):
            if header is None:
                header = ["variant", "activation", "init", "seed", "layer", "fan_in", "fan_out",
                          "pre_mean", "pre_var", "post_mean", "post_var", "grad_pre_var",
                          "grad_post_var", "wgrad_var", "unit_sq_mean", "unit_var", "dead_frac",
                          "saturated_frac", "nonfinite"] + keys
                w.writerow(header)
            net = c.get("network", {})
            act, _ = as_entry(net.get("activation", "relu"))
            act = ACT_ALIASES.get(act, act)
            iname, ip = as_entry(net.get("init", "he_normal"))
            bias = net.get("bias", "zeros")
            if iname != "mean_field" and as_entry(bias)[0] != "zeros":
                raise SystemExit("torch_peer: only zero biases are supported (got %r)" % (bias,))
            inp = c.get("input", {})
            if inp.get("distribution", "normal") != "normal":
                raise SystemExit("torch_peer: only normal inputs are supported")
            B = inp.get("batch", 256)
            netd = {"depth": net.get("depth", 10), "width": net.get("width", 256)}
            if "input_dim" in net:
                netd["input_dim"] = net["input_dim"]
            for s in seeds:
                for r in one_run(netd, act, iname, ip, B, s):
                    w.writerow([v, act, label(net.get("init", "he_normal")), s] + [num(x) for x in r] + labels)
    os.replace(path + ".tmp", path)
    print("torch_peer: compute_seconds=%.6f" % (time.perf_counter() - t0), file=sys.stderr)


if __name__ == "__main__":
    main()
