#!/usr/bin/env python3
"""One Leaky layer (beta 0.9, threshold 1, subtract reset) over T steps in snnTorch, SpikingJelly
and Norse: forward and forward + backward throughput in neuron-steps per second.

    python layer.py                                   # every library, B=128 N=4096 T=100, 1 thread
    python layer.py --library snntorch --threads 2
    python layer.py --neurons 64,256,1024,4096,16384 --json      # the sweep over N
    python layer.py --check                            # the parameter mappings, checked (see README.md)

The input currents are uniform in [-0.2, 0.5) (the distribution of the Rust benchmark
benches/leaky.rs), the gradient arriving at every spike is 0.01, and forward + backward
computes the gradient of the input currents (as the Rust kernels do). "forward" runs under
torch.no_grad() (no graph recorded); "forward_backward" is one forward that records the graph
plus the backward, timed together. Each figure is the best of --repeats runs after --warmup
untimed runs. README.md gives each library's equations and parameters.
"""

import argparse
import sys

import common

BETA = 0.9
THRESHOLD = 1.0
INPUT_LOW, INPUT_HIGH = -0.2, 0.5
GRAD_SPIKES = 0.01
DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


# --------------------------------------------------------------------------- the three layers


def steps_of(x, input_loop):
    """The per-step slices of x [T, B, N]: x.unbind(0) (what `for xt in x` does), or x[t] for
    each t. Both are views; they differ in the backward pass when x requires a gradient:
    unbind's gradient is one stack of the T slices' gradients, while each x[t]'s is a
    zero-filled [T, B, N] tensor with one slice set, summed into x.grad: T full-size fills
    and additions, O(T^2 B N) work (README.md, "The per-step input loop")."""
    if input_loop == "unbind":
        return x.unbind(0)
    return [x[t] for t in range(x.shape[0])]


class SnnTorchLayer:
    """snn.Leaky called once per step (the snnTorch idiom), spikes stacked into [T, B, N]."""

    def __init__(self, torch, dtype, input_loop="unbind"):
        import snntorch as snn
        from snntorch import surrogate

        self.torch = torch
        self.input_loop = input_loop
        self.lif = snn.Leaky(
            beta=BETA,
            threshold=THRESHOLD,
            spike_grad=surrogate.atan(alpha=2.0),
            reset_mechanism="subtract",
            reset_delay=True,
        )

    def prepare(self, x):
        return x

    def __call__(self, x):
        mem = self.torch.zeros(x.shape[1:], dtype=x.dtype)
        spikes = []
        for xt in steps_of(x, self.input_loop):
            spk, mem = self.lif(xt, mem)
            spikes.append(spk)
        return self.torch.stack(spikes)


class SpikingJellyLayer:
    """LIFNode in multi-step mode (step_mode='m'): one call over [T, B, N] (its CPU loop
    iterates over the tensor, i.e. unbind; there is no per-step input loop of ours)."""

    def __init__(self, torch, dtype, input_loop=None):
        from spikingjelly.activation_based import neuron, surrogate

        self.node = neuron.LIFNode(
            tau=1.0 / (1.0 - BETA),  # 10.0: H = V - V/tau + X = 0.9 V + X
            decay_input=False,
            v_threshold=THRESHOLD,
            v_reset=None,  # None = soft reset: V = H - S * v_threshold
            surrogate_function=surrogate.ATan(alpha=2.0),
            detach_reset=True,  # as snnTorch, whose reset signal is detached
            step_mode="m",
        )

    def prepare(self, x):
        return x

    def __call__(self, x):
        self.node.reset()  # v back to 0 (it carries over between calls otherwise)
        return self.node(x)


class NorseLayer:
    """LIFBoxCell (LIF without a current term) called once per step, spikes stacked."""

    DT = 1e-3
    TAU_MEM_INV = 100.0  # dt * tau_mem_inv = 0.1: v + 0.1 (i - v) = 0.9 v + 0.1 i

    def __init__(self, torch, dtype, input_loop="unbind"):
        import norse.torch as norse
        from norse.torch.functional.reset import reset_subtract

        self.torch = torch
        self.input_loop = input_loop
        params = norse.LIFBoxParameters(
            tau_mem_inv=torch.as_tensor(self.TAU_MEM_INV),
            v_leak=torch.as_tensor(0.0),
            v_th=torch.as_tensor(THRESHOLD),
            v_reset=torch.as_tensor(0.0),
            method="super",  # Norse has no arctan surrogate; SuperSpike is its default
            alpha=torch.as_tensor(100.0),  # Norse's default
            reset_method=reset_subtract,
        )
        self.cell = norse.LIFBoxCell(params, dt=self.DT)
        self.state_type = norse.LIFBoxFeedForwardState

    def prepare(self, x):
        # Norse multiplies the input by dt * tau_mem_inv = 0.1; feeding 10 x makes the update
        # 0.9 v + x as in the others (done once, outside the timed region)
        return (x / (self.DT * self.TAU_MEM_INV)).detach()

    def __call__(self, x):
        state = self.state_type(v=self.torch.zeros(x.shape[1:], dtype=x.dtype))
        spikes = []
        for xt in steps_of(x, self.input_loop):
            z, state = self.cell(xt, state)
            spikes.append(z)
        return self.torch.stack(spikes)


LAYERS = {"snntorch": SnnTorchLayer, "spikingjelly": SpikingJellyLayer, "norse": NorseLayer}


# --------------------------------------------------------------------------- the mapping check


def reference_spikes(torch, library, x):
    """Each library's documented recurrence (README.md), written out with plain tensor
    operations in the library's own order of operations, for --check."""
    t_steps = x.shape[0]
    out = []
    if library == "snntorch":
        # mem[t] = beta*mem[t-1] + x[t] - H(mem[t-1] - thr)*thr ; spk[t] = H(mem[t] - thr)
        beta = torch.as_tensor(BETA).clamp(0, 1)
        mem = torch.zeros(x.shape[1:], dtype=x.dtype)
        for t in range(t_steps):
            reset = ((mem - THRESHOLD) > 0).float()
            mem = beta * mem + x[t] - reset * THRESHOLD
            out.append(((mem - THRESHOLD) > 0).float() * 1.0)
    elif library == "spikingjelly":
        # H[t] = V[t-1] - V[t-1]/tau + x[t] ; S[t] = H(H[t] - thr) ; V[t] = H[t] - S[t]*thr
        tau = 1.0 / (1.0 - BETA)
        v = torch.zeros(x.shape[1:], dtype=torch.float32)
        for t in range(t_steps):
            h = v - (v - 0.0) / tau + x[t]
            s = ((h - THRESHOLD) >= 0).to(torch.float32)
            v = h - s * THRESHOLD
            out.append(s.to(x.dtype))
    else:
        # v' = v + dt*tau_mem_inv*(i + v_leak - v) ; z = H(v' - thr) ; v = (1-z) v' + z (v' - thr)
        k = NorseLayer.DT * torch.as_tensor(NorseLayer.TAU_MEM_INV)
        v = torch.zeros(x.shape[1:], dtype=x.dtype)
        for t in range(t_steps):
            vd = v + k * (x[t] + torch.as_tensor(0.0) - v)
            z = torch.gt(vd - torch.as_tensor(THRESHOLD), torch.as_tensor(0.0)).to(x.dtype)
            v = (1 - z) * vd + z * (vd - torch.as_tensor(THRESHOLD))
            out.append(z)
    return torch.stack(out)


def check(torch, libraries, input_loop):
    """Runs each layer on a small input and compares its spikes, bit for bit, with the
    recurrence README.md documents for it; also checks that its input gradient is finite,
    nonzero and (snnTorch, Norse) the same bits with either input loop. Exits non-zero on
    any difference."""
    gen = torch.Generator().manual_seed(11)
    x = torch.rand((40, 8, 64), generator=gen) * (INPUT_HIGH - INPUT_LOW) + INPUT_LOW
    failures = 0
    for name in libraries:
        layer = LAYERS[name](torch, torch.float32, input_loop)
        xin = layer.prepare(x)
        with torch.no_grad():
            got = layer(xin)
        want = reference_spikes(torch, name, xin)
        same = got.shape == want.shape and torch.equal(got.view(torch.int32), want.view(torch.int32))
        xg = xin.clone().requires_grad_(True)
        layer(xg).backward(torch.full(want.shape, GRAD_SPIKES))
        grad_ok = bool(torch.isfinite(xg.grad).all()) and bool((xg.grad != 0).any())
        if name != "spikingjelly":
            # the other input loop must give the same input gradient, bit for bit
            other = "index" if input_loop == "unbind" else "unbind"
            xo = xin.clone().requires_grad_(True)
            LAYERS[name](torch, torch.float32, other)(xo).backward(torch.full(want.shape, GRAD_SPIKES))
            grad_ok = grad_ok and torch.equal(xo.grad.view(torch.int32), xg.grad.view(torch.int32))
        rate = float(want.mean())
        print(
            f"{name}: spikes {'equal' if same else 'DIFFER'} to its documented recurrence "
            f"(T=40, B=8, N=64, spike rate {rate:.3f}); input gradient {'finite, nonzero' if grad_ok else 'BAD'}"
            f"{'' if name == 'spikingjelly' else (', the same with x.unbind(0) and x[t]' if grad_ok else '')}"
        )
        failures += (not same) + (not grad_ok)
    if failures:
        sys.exit(f"check: {failures} failure(s)")


# --------------------------------------------------------------------------- timing


def measure(torch, name, dtype, batch, neurons, steps, warmup, repeats, input_loop):
    layer = LAYERS[name](torch, dtype, input_loop)
    gen = torch.Generator().manual_seed(7)
    x = torch.rand((steps, batch, neurons), generator=gen, dtype=torch.float32)
    x = (x * (INPUT_HIGH - INPUT_LOW) + INPUT_LOW).to(dtype)
    x = layer.prepare(x)
    grad = torch.full((steps, batch, neurons), GRAD_SPIKES, dtype=dtype)

    def forward():
        with torch.no_grad():
            layer(x)

    xg = x.clone().requires_grad_(True)

    def forward_backward():
        xg.grad = None
        spikes = layer(xg)
        # spikes may come back in another dtype (snnTorch's surrogate returns float32)
        spikes.backward(grad.to(spikes.dtype))

    results = {}
    results["forward"] = common.best_of(forward, warmup, repeats)
    results["forward_backward"] = common.best_of(forward_backward, warmup, repeats)
    return results


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--library", type=common.library_list, default=list(common.LIBRARIES),
                   help="all (default) or a comma-separated list of snntorch, spikingjelly, norse")
    p.add_argument("--threads", type=common.positive_int, default=1, help="torch.set_num_threads (default 1)")
    p.add_argument("--batch", type=common.positive_int, default=None, help="B (default 128)")
    p.add_argument("--neurons", type=common.int_list, default=None,
                   help="N, or a comma-separated sweep such as 64,256,1024,4096,16384 (default 4096)")
    p.add_argument("--steps", type=common.positive_int, default=None, help="T (default 100)")
    p.add_argument("--dtype", choices=sorted(DTYPES), default="fp32", help="precision (default fp32)")
    p.add_argument("--warmup", type=int, default=None, help="untimed runs before timing (default 1)")
    p.add_argument("--repeats", type=common.positive_int, default=None, help="timed runs, best reported (default 5)")
    p.add_argument("--input-loop", choices=("unbind", "index"), default="unbind",
                   help="snnTorch's and Norse's per-step slices of the input: x.unbind(0) (default) or x[t], "
                        "whose backward costs O(T^2) (README.md)")
    p.add_argument("--quick", action="store_true", help="B=16 N=1024 T=50, 1 warm-up, 2 repeats (a smoke test)")
    p.add_argument("--json", action="store_true", help="print one JSON record per result")
    p.add_argument("--note", default=None, help="a note stored in every record (for example the machine's load)")
    p.add_argument("--check", action="store_true",
                   help="check each library's spikes against its documented recurrence and exit")
    args = p.parse_args(argv)
    if args.warmup is not None and args.warmup < 0:
        p.error(f"--warmup: expected a whole number >= 0, got {args.warmup}")

    import torch

    common.set_threads(args.threads)
    if args.check:
        check(torch, args.library, args.input_loop)
        return

    batch = args.batch or (16 if args.quick else 128)
    neurons = args.neurons or [1024 if args.quick else 4096]
    steps = args.steps or (50 if args.quick else 100)
    warmup = args.warmup if args.warmup is not None else 1
    repeats = args.repeats or (2 if args.quick else 5)
    dtype = getattr(torch, DTYPES[args.dtype])
    for n in neurons:
        for name in args.library:
            results = measure(torch, name, dtype, batch, n, steps, warmup, repeats, args.input_loop)
            size = {"batch": batch, "neurons": n, "steps": steps}
            for metric, (best, median) in results.items():
                rec = common.record(
                    name, "leaky_layer", args.threads, size, args.dtype, metric,
                    batch * n * steps / best, "neuron-steps/s", best, median, repeats, args.note,
                )
                rec["input_loop"] = "multi-step" if name == "spikingjelly" else args.input_loop
                common.emit(rec, args.json)


if __name__ == "__main__":
    main()
