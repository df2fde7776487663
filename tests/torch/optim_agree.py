#!/usr/bin/python3
"""PyTorch's side of the optimizer agreement test (tests/test_optim.c, optim_torch suite).

Prints, for each case, torch.optim's parameter trajectory over 20 steps from fixed
initial parameters and a fixed gradient sequence (given, not computed: the C test
reads the same gradients from this output, so both sides start from identical
inputs), and the learning rates of torch's schedulers over 30 steps.

Output, one record per line, numbers as Python repr (exact for float32 and float64):
  case NAME DTYPE key=value ...      an optimizer case (DTYPE float32 or float64)
  init x1 ... xn                     initial parameters
  grad g1 ... gn                     the gradient of the next step
  param x1 ... xn                    the parameters after that step
  sched NAME key=value ...           a schedule case (base_lr and its parameters)
  lr step value                      lr of the update after `step` earlier updates
  end
With the argument `losses` it prints instead, per case, float64 throughout:
  loss NAME B C                      cross_entropy (F.cross_entropy) or mse
                                     (F.mse_loss on F.one_hot targets), reduction mean
  logits z11 ... zBC                 row-major
  labels y1 ... yB
  value L                            the loss
  dlogits d11 ... dBC                its gradient (autograd)
  end
Usage: /usr/bin/python3 tests/torch/optim_agree.py [losses]   (torch 1.13; the
single-tensor update path is forced with foreach=False, the path torch.optim takes
on CPU by default).
"""
import math
import sys

import torch

STEPS = 20
N = 19  # odd and not a multiple of the vector width, so torch's scalar tail is used too


def fmt(x):
    return repr(float(x))


def gradients(gen, dtype):
    """A fixed sequence of gradients spanning five decades, with a zero entry and
    sign changes, so every term of the update rules matters."""
    seq = []
    for _ in range(STEPS):
        g = torch.randn(N, generator=gen, dtype=torch.float64)
        scale = 10.0 ** (torch.rand(N, generator=gen, dtype=torch.float64) * 4.0 - 3.0)
        g = (g * scale).to(dtype)
        g[3] = 0.0
        seq.append(g)
    return seq


def run_case(name, dtype, make_opt, keys, seed):
    gen = torch.Generator().manual_seed(seed)
    init = (torch.randn(N, generator=gen, dtype=torch.float64) * 0.5).to(dtype)
    init[5] = 0.0
    grads = gradients(gen, dtype)
    p = torch.nn.Parameter(init.clone())
    opt = make_opt([p])
    dname = "float32" if dtype == torch.float32 else "float64"
    print("case", name, dname, " ".join("%s=%s" % (k, v) for k, v in keys))
    print("init", " ".join(fmt(x) for x in init.tolist()))
    for g in grads:
        p.grad = g.clone()
        opt.step()
        print("grad", " ".join(fmt(x) for x in g.tolist()))
        print("param", " ".join(fmt(x) for x in p.detach().tolist()))


def optimizer_cases():
    for dtype in (torch.float32, torch.float64):
        run_case("sgd", dtype,
                 lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True,
                                            weight_decay=1e-2, foreach=False),
                 [("lr", 0.05), ("momentum", 0.9), ("dampening", 0.0),
                  ("weight_decay", 0.01), ("nesterov", 1)], 1)
        run_case("sgd", dtype,
                 lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.8, dampening=0.25,
                                            foreach=False),
                 [("lr", 0.1), ("momentum", 0.8), ("dampening", 0.25),
                  ("weight_decay", 0.0), ("nesterov", 0)], 2)
        run_case("adam", dtype, lambda ps: torch.optim.Adam(ps, foreach=False),
                 [("lr", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("eps", 1e-8),
                  ("weight_decay", 0.0)], 3)
        run_case("adam", dtype,
                 lambda ps: torch.optim.Adam(ps, lr=0.02, betas=(0.8, 0.99), eps=1e-6,
                                             weight_decay=0.05, foreach=False),
                 [("lr", 0.02), ("beta1", 0.8), ("beta2", 0.99), ("eps", 1e-6),
                  ("weight_decay", 0.05)], 4)
        run_case("adamw", dtype, lambda ps: torch.optim.AdamW(ps, foreach=False),
                 [("lr", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("eps", 1e-8),
                  ("weight_decay", 0.01)], 5)
        run_case("adamw", dtype,
                 lambda ps: torch.optim.AdamW(ps, lr=0.05, weight_decay=0.5, foreach=False),
                 [("lr", 0.05), ("beta1", 0.9), ("beta2", 0.999), ("eps", 1e-8),
                  ("weight_decay", 0.5)], 6)


def sched_case(name, base_lr, keys, make_sched, steps=30):
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=base_lr)
    sched = make_sched(opt)
    print("sched", name, "base_lr=%s" % fmt(base_lr),
          " ".join("%s=%s" % (k, v) for k, v in keys))
    for s in range(steps):
        print("lr", s, fmt(opt.param_groups[0]["lr"]))
        opt.step()
        sched.step()


def schedule_cases():
    lr_sched = torch.optim.lr_scheduler
    sched_case("step", 0.1, [("step_size", 7), ("gamma", 0.5), ("warmup_steps", 0)],
               lambda o: lr_sched.StepLR(o, step_size=7, gamma=0.5))
    sched_case("cosine", 0.1, [("t_max", 12), ("eta_min", 0.001), ("warmup_steps", 0)],
               lambda o: lr_sched.CosineAnnealingLR(o, T_max=12, eta_min=0.001))
    # Warm-up: LinearLR(start_factor=1/W, total_iters=W-1) gives (step+1)/W, then 1.
    sched_case("constant", 0.3, [("warmup_steps", 5)],
               lambda o: lr_sched.LinearLR(o, start_factor=1.0 / 5, end_factor=1.0,
                                           total_iters=4))


def loss_cases():
    import torch.nn.functional as F
    gen = torch.Generator().manual_seed(7)
    for name, b, c, amp in (("cross_entropy", 5, 4, 3.0), ("cross_entropy", 3, 10, 20.0),
                            ("mse", 5, 4, 1.0), ("mse", 2, 10, 3.0)):
        z = (torch.randn(b, c, generator=gen, dtype=torch.float64) * amp).requires_grad_()
        y = torch.randint(0, c, (b,), generator=gen)
        if name == "cross_entropy":
            loss = F.cross_entropy(z, y)
        else:
            loss = F.mse_loss(z, F.one_hot(y, c).to(torch.float64))
        loss.backward()
        print("loss", name, b, c)
        print("logits", " ".join(fmt(x) for x in z.detach().flatten().tolist()))
        print("labels", " ".join(str(int(v)) for v in y.tolist()))
        print("value", fmt(loss.item()))
        print("dlogits", " ".join(fmt(x) for x in z.grad.flatten().tolist()))


def main():
    torch.set_num_threads(1)
    if sys.argv[1:] == ["losses"]:
        loss_cases()
    else:
        optimizer_cases()
        schedule_cases()
    print("end")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
