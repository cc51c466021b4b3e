#!/usr/bin/env python3
"""One training iteration of the seed paper's network (784-1000-10, Leaky beta 0.9, T = 25,
batch 128, rate-coded input, spike-count cross-entropy, Adam lr 5e-4) in snnTorch,
SpikingJelly and Norse: milliseconds per iteration and samples per second.

    python train_step.py                               # every library, 1 thread, density 0.13
    python train_step.py --threads 2 --library snntorch,spikingjelly
    python train_step.py --density 0.5 --json

An iteration is: forward over the T steps, the loss, the backward pass through time, and
one Adam step (zero_grad(set_to_none=True), loss.backward(), optimizer.step()). The input
is one batch of synthetic pixels with the asked-for mean intensity (uniform on [0, 2d] for
d <= 0.5, on [2d - 1, 1] above), rate-coded once before timing (a Bernoulli draw of each
pixel at each step: torch.bernoulli, what snntorch.spikegen.rate does), the same tensor for
every library and iteration; labels are i mod 10. README.md has each library's network.
"""

import argparse
import sys

import common

INPUTS, HIDDEN, OUTPUTS = 784, 1000, 10
BETA = 0.9
THRESHOLD = 1.0
LR = 5e-4


class SnnTorchNet:
    """The snnTorch tutorial network: Linear and snn.Leaky called once per step."""

    def __init__(self, torch):
        import snntorch as snn
        import snntorch.functional as SF
        from snntorch import surrogate

        nn = torch.nn
        self.torch = torch
        self.fc1 = nn.Linear(INPUTS, HIDDEN)
        self.fc2 = nn.Linear(HIDDEN, OUTPUTS)
        kw = dict(beta=BETA, threshold=THRESHOLD, spike_grad=surrogate.atan(alpha=2.0), reset_mechanism="subtract")
        self.lif1 = snn.Leaky(**kw)
        self.lif2 = snn.Leaky(**kw)
        self.modules = nn.ModuleList([self.fc1, self.lif1, self.fc2, self.lif2])
        self.loss_fn = SF.ce_count_loss()  # log-softmax of the spike counts, then NLL

    def loss(self, x, y):
        torch = self.torch
        batch = x.shape[1]
        mem1 = torch.zeros(batch, HIDDEN)
        mem2 = torch.zeros(batch, OUTPUTS)
        out = []
        for t in range(x.shape[0]):
            spk1, mem1 = self.lif1(self.fc1(x[t]), mem1)
            spk2, mem2 = self.lif2(self.fc2(spk1), mem2)
            out.append(spk2)
        return self.loss_fn(torch.stack(out), y)


class SpikingJellyNet:
    """Multi-step modules (step_mode='m'): each Linear is one matrix product over T x B rows,
    each LIFNode one call over [T, B, n]."""

    def __init__(self, torch):
        from spikingjelly.activation_based import functional, layer, neuron, surrogate

        nn = torch.nn
        self.torch = torch
        self.functional = functional

        def lif():
            return neuron.LIFNode(
                tau=1.0 / (1.0 - BETA), decay_input=False, v_threshold=THRESHOLD, v_reset=None,
                surrogate_function=surrogate.ATan(alpha=2.0), detach_reset=True, step_mode="m",
            )

        self.modules = nn.Sequential(
            layer.Linear(INPUTS, HIDDEN, step_mode="m"), lif(),
            layer.Linear(HIDDEN, OUTPUTS, step_mode="m"), lif(),
        )

    def loss(self, x, y):
        self.functional.reset_net(self.modules)
        counts = self.modules(x).sum(0)
        return self.torch.nn.functional.cross_entropy(counts, y)


class NorseNet:
    """Linear and LIFBoxCell called once per step (subtract reset, SuperSpike surrogate)."""

    DT = 1e-3
    TAU_MEM_INV = 100.0

    def __init__(self, torch):
        import norse.torch as norse
        from norse.torch.functional.reset import reset_subtract

        nn = torch.nn
        self.torch = torch
        self.fc1 = nn.Linear(INPUTS, HIDDEN)
        self.fc2 = nn.Linear(HIDDEN, OUTPUTS)
        # Norse's update is v + dt*tau_mem_inv*(i - v) = 0.9 v + 0.1 i: the weights start 10x
        # larger so that the network starts as the others do (no operation is added)
        with torch.no_grad():
            for fc in (self.fc1, self.fc2):
                fc.weight.mul_(1.0 / (self.DT * self.TAU_MEM_INV))
                fc.bias.mul_(1.0 / (self.DT * self.TAU_MEM_INV))
        params = norse.LIFBoxParameters(
            tau_mem_inv=torch.as_tensor(self.TAU_MEM_INV), v_leak=torch.as_tensor(0.0),
            v_th=torch.as_tensor(THRESHOLD), v_reset=torch.as_tensor(0.0),
            method="super", alpha=torch.as_tensor(100.0), reset_method=reset_subtract,
        )
        self.lif1 = norse.LIFBoxCell(params, dt=self.DT)
        self.lif2 = norse.LIFBoxCell(params, dt=self.DT)
        self.state = norse.LIFBoxFeedForwardState
        self.modules = nn.ModuleList([self.fc1, self.lif1, self.fc2, self.lif2])

    def loss(self, x, y):
        torch = self.torch
        batch = x.shape[1]
        s1 = self.state(v=torch.zeros(batch, HIDDEN))
        s2 = self.state(v=torch.zeros(batch, OUTPUTS))
        out = []
        for t in range(x.shape[0]):
            z1, s1 = self.lif1(self.fc1(x[t]), s1)
            z2, s2 = self.lif2(self.fc2(z1), s2)
            out.append(z2)
        return torch.nn.functional.cross_entropy(torch.stack(out).sum(0), y)


NETS = {"snntorch": SnnTorchNet, "spikingjelly": SpikingJellyNet, "norse": NorseNet}


def rate_coded_batch(torch, batch, steps, density, seed):
    """Synthetic pixels with mean `density`, rate-coded over `steps`: [steps, batch, 784]."""
    gen = torch.Generator().manual_seed(seed)
    u = torch.rand((batch, INPUTS), generator=gen)
    low, high = (0.0, 2.0 * density) if density <= 0.5 else (2.0 * density - 1.0, 1.0)
    pixels = low + (high - low) * u
    x = torch.bernoulli(pixels.expand(steps, batch, INPUTS).contiguous(), generator=gen)
    y = torch.arange(batch) % OUTPUTS
    return x, y


def measure(torch, name, batch, steps, density, warmup, repeats):
    torch.manual_seed(1)
    net = NETS[name](torch)
    opt = torch.optim.Adam(net.modules.parameters(), lr=LR)
    x, y = rate_coded_batch(torch, batch, steps, density, seed=2)

    def iteration():
        opt.zero_grad(set_to_none=True)
        loss = net.loss(x, y)
        loss.backward()
        opt.step()
        return loss

    best, median = common.best_of(iteration, warmup, repeats)
    return best, median, float(x.mean())


def check(torch, libraries):
    """Trains each network for 30 iterations on one batch of 16 (T = 25): the loss must be
    finite, the first iteration must give every weight matrix a nonzero gradient, and the
    last loss must be below half the first (the network learns the batch). Exits non-zero
    otherwise."""
    failures = 0
    for name in libraries:
        torch.manual_seed(1)
        net = NETS[name](torch)
        opt = torch.optim.Adam(net.modules.parameters(), lr=LR)
        x, y = rate_coded_batch(torch, 16, 25, 0.13, seed=2)
        losses = []
        for i in range(30):
            opt.zero_grad(set_to_none=True)
            loss = net.loss(x, y)
            loss.backward()
            if i == 0:
                weights = [q for q in net.modules.parameters() if q.dim() == 2]
                flowing = all(q.grad is not None and bool((q.grad != 0).any()) for q in weights)
            opt.step()
            losses.append(float(loss))
        finite = all(torch.isfinite(torch.tensor(losses)))
        learns = losses[-1] < 0.5 * losses[0]
        print(f"{name}: loss {losses[0]:.4f} -> {losses[-1]:.4f} in 30 iterations "
              f"({'learns' if learns else 'DOES NOT LEARN'}); gradients reach every weight matrix: "
              f"{'yes' if flowing else 'NO'}; losses finite: {'yes' if finite else 'NO'}")
        failures += (not learns) + (not flowing) + (not finite)
    if failures:
        sys.exit(f"check: {failures} failure(s)")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--library", type=common.library_list, default=list(common.LIBRARIES),
                   help="all (default) or a comma-separated list of snntorch, spikingjelly, norse")
    p.add_argument("--threads", type=common.positive_int, default=1, help="torch.set_num_threads (default 1)")
    p.add_argument("--batch", type=common.positive_int, default=None, help="batch size (default 128)")
    p.add_argument("--steps", type=common.positive_int, default=None, help="T (default 25)")
    p.add_argument("--density", type=common.probability, default=0.13,
                   help="mean pixel intensity = input spike probability per step (default 0.13, MNIST's)")
    p.add_argument("--warmup", type=int, default=None, help="untimed iterations first (default 2)")
    p.add_argument("--repeats", type=common.positive_int, default=None, help="timed iterations, best reported (default 10)")
    p.add_argument("--quick", action="store_true", help="batch 16, T=5, 1 warm-up, 2 repeats (a smoke test)")
    p.add_argument("--json", action="store_true", help="print one JSON record per result")
    p.add_argument("--note", default=None, help="a note stored in every record")
    p.add_argument("--check", action="store_true", help="check that each network trains, and exit")
    args = p.parse_args(argv)
    if args.warmup is not None and args.warmup < 0:
        p.error(f"--warmup: expected a whole number >= 0, got {args.warmup}")

    import torch

    common.set_threads(args.threads)
    if args.check:
        check(torch, args.library)
        return
    batch = args.batch or (16 if args.quick else 128)
    steps = args.steps or (5 if args.quick else 25)
    warmup = args.warmup if args.warmup is not None else (1 if args.quick else 2)
    repeats = args.repeats or (2 if args.quick else 10)
    for name in args.library:
        best, median, rate = measure(torch, name, batch, steps, args.density, warmup, repeats)
        size = {"network": f"{INPUTS}-{HIDDEN}-{OUTPUTS}", "batch": batch, "steps": steps, "density": args.density}
        for metric, value, unit in (
            ("ms_per_iteration", best * 1e3, "ms"),
            ("samples_per_s", batch / best, "samples/s"),
        ):
            rec = common.record(name, "train_step", args.threads, size, "fp32", metric, value, unit,
                                best, median, repeats, args.note)
            rec["input_spike_rate"] = round(rate, 5)
            common.emit(rec, args.json)


if __name__ == "__main__":
    main()
