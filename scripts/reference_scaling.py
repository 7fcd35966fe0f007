#!/usr/bin/env python3
"""Training-step throughput of the authors' PyTorch reference implementation.

Times forward + backward (no optimizer step) of the reference's own two-layer network, built with
its `networks.Net` class from a network layout, in float64 on the CPU, for synthetic inputs. The
reference repository (https://github.com/JulianGoeltz/fastAndDeep) is NOT part of this project: it
is imported at run time from the path given with --reference (its `src/` folder goes on sys.path).

What one timed step is:
    net.zero_grad(); for each micro-batch: out, _ = net(x); loss(out).backward()
`net(x)` is `networks.Net.forward` (its delay / broadcast layers and `utils.NeuronLayer`, which runs
`utils.NeuronFunctionEventbased`: closed-form spike times in forward, hand-written backward). The
loss is the sum of the finite output spike times (silent outputs contribute 0). The optimizer
step, weight bumping, delay rectification and the classification bookkeeping of the reference's
training loop are not timed.

Micro-batches: the reference evaluates every causal-set prefix at once through a
(batch x n_pre x n_pre x n_post) float64 tensor, which for 784-350-10 at batch 150 would need
~258 GB. The batch is therefore split into micro-batches so that this tensor stays under
--max-chunk-bytes; gradients accumulate over micro-batches, so a step computes exactly the
full-batch gradient of the summed loss. `micro_batch` in the output says what was used
(--max-chunk-bytes 0 disables splitting).

--timed-samples N (for 784-350-10 on a CPU, where one full step takes ~20 min): a timed call runs
only the first micro-batches holding >= N samples of the batch. Micro-batches are independent, so
samples_per_s is measured directly and seconds_per_step = batch / samples_per_s is an
extrapolation (marked "extrapolated": true). Spike fractions then cover those samples only.

Each invocation uses one thread count (torch.set_num_threads and set_num_interop_threads are set
before any work); run one process per thread count. One JSON object per case goes to stdout;
everything the reference prints is sent to stderr.

Example:
    python scripts/reference_scaling.py --reference /tmp/delgrad-reference/fastAndDeep --threads 1
"""

import argparse
import contextlib
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

NETWORKS = {"4-30-3": (4, 30, 3), "256-100-10": (256, 100, 10), "784-350-10": (784, 350, 10)}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reference", required=True, help="root of a fastAndDeep checkout (contains src/)")
    p.add_argument("--commit", default=None, help="reference commit to record (default: git rev-parse HEAD there)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--networks", default=",".join(NETWORKS), help="comma list of " + ", ".join(NETWORKS))
    p.add_argument("--delays", default="synaptic,none", help="comma list of synaptic, axonal, dendritic, none")
    p.add_argument("--batch", type=int, default=150)
    p.add_argument("--warmup", type=int, default=3, help="untimed steps before timing")
    p.add_argument("--reps", type=int, default=7, help="timed repetitions (median reported)")
    p.add_argument("--min-rep-seconds", type=float, default=0.5, help="each repetition runs >= this long")
    p.add_argument("--max-chunk-bytes", type=float, default=2 * 2**30,
                   help="cap on the reference's batch x n_pre^2 x n_post tensor per micro-batch; 0 = no split")
    p.add_argument("--timed-samples", type=int, default=0,
                   help="time only the micro-batches holding the first N samples (0 = whole batch)")
    p.add_argument("--drive-hidden", type=float, default=4.0,
                   help="hidden weights ~ N(d/fan_in, d/fan_in) (4.0: Yin-Yang's N(1,1) at 4 inputs)")
    p.add_argument("--drive-out", type=float, default=30.0,
                   help="output weights ~ N(d/fan_in, d/fan_in) (30.0: N(1,1) at 30 hidden)")
    p.add_argument("--max-dw-norm", type=float, default=None,
                   help="reference's gradient chopping threshold (its Yin-Yang configs use 0.2); default off")
    p.add_argument("--seed", type=int, default=2000)
    return p.parse_args()


def main():
    args = parse_args()
    real_stdout = sys.stdout
    # the reference prints progress/warnings to stdout; keep stdout for our JSON lines only
    with contextlib.redirect_stdout(sys.stderr):
        records = run(args)
    for rec in records:
        print(json.dumps(rec), file=real_stdout, flush=True)


def run(args):
    import torch  # imported here so that thread settings happen before any torch work

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(args.threads)
    except RuntimeError as e:  # only possible before any inter-op work
        print(f"set_num_interop_threads failed: {e}", file=sys.stderr)

    src = os.path.join(os.path.abspath(args.reference), "src")
    if not os.path.isfile(os.path.join(src, "networks.py")):
        sys.exit(f"{src}/networks.py not found: is --reference a fastAndDeep checkout with delays?")
    sys.path.insert(0, src)
    import networks  # noqa: E402  (reference module)
    import utils as ref_utils  # noqa: E402  (reference module; sets float64 as torch default)

    torch.set_default_dtype(torch.float64)
    commit = args.commit or git_head(args.reference)
    device = torch.device("cpu")

    records = []
    for name in args.networks.split(","):
        sizes = NETWORKS[name]
        for delays in args.delays.split(","):
            rec = bench_case(torch, networks, ref_utils, device, args, name, sizes, delays)
            rec["reference_commit"] = commit
            records.append(rec)
            print(f"[reference_scaling] {name} delays={delays} threads={args.threads}: "
                  f"{rec['samples_per_s']:.1f} samples/s, spiking hidden {rec['hidden_spiking']:.0%} "
                  f"output {rec['output_spiking']:.0%}", file=sys.stderr, flush=True)
    return records


def git_head(path):
    try:
        return subprocess.run(["git", "-C", path, "rev-parse", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def layout(sizes, delays, drive_hidden, drive_out):
    """A network layout in the reference's config format: [connection, neurons] x 2."""
    n_in, n_hid, n_out = sizes

    def connection():
        if delays == "none":
            return {"name": "BroadcastLayer"}
        # the reference's Yin-Yang delay defaults: d = sigmoid(raw), raw ~ N(0, 0.25)
        return {"name": "Delay" + delays.capitalize(), "delay_mean": 0.0, "delay_std": 0.25,
                "positivity": {"name": "sigmoid", "scale": 1.0}, "trainable": True}

    def neurons(size, fan_in, drive):
        return {"name": "NeuronLayer", "size": size, "trainable": True,
                "weights_mean": drive / fan_in, "weights_std": drive / fan_in,
                "max_num_missing_spikes": 0.0}

    return {"n_inputs": n_in, "layers": [connection(), neurons(n_hid, n_in, drive_hidden),
                                         connection(), neurons(n_out, n_hid, drive_out)]}


def bench_case(torch, networks, ref_utils, device, args, name, sizes, delays):
    # ideal neuron: tau_m = 2 tau_s, g_L = tau_s / tau_m, theta = 1, leak 0; times in units of tau_s
    neuron = {"tau_syn": 1.0, "tau_mem": 2.0, "g_leak": 0.5, "leak": 0.0, "threshold": 1.0,
              "max_dw_norm": args.max_dw_norm}
    training = {"substrate": "sim", "use_forward_integrator": False, "clip_weights_max": False,
                "rounding_precision": False}
    torch.manual_seed(args.seed)
    net = networks.Net(neuron, layout(sizes, delays, args.drive_hidden, args.drive_out), training, device)
    n_params = sum(p.numel() for p in net.parameters())

    gen = torch.Generator().manual_seed(args.seed + 1)
    x = 0.15 + 1.85 * torch.rand(args.batch, sizes[0], generator=gen, dtype=torch.float64)

    # micro-batch so that batch x n_pre^2 x n_post x 8 B stays under the cap, for both layers
    per_sample = max(sizes[0] ** 2 * sizes[1], sizes[1] ** 2 * sizes[2]) * 8
    if args.max_chunk_bytes > 0:
        chunk = max(1, min(args.batch, int(args.max_chunk_bytes // per_sample)))
    else:
        chunk = args.batch
    n_chunks = math.ceil(args.batch / chunk)
    chunks = list(torch.tensor_split(x, n_chunks))
    if 0 < args.timed_samples < args.batch:
        keep, n = 0, 0
        while n < args.timed_samples:
            n += chunks[keep].shape[0]
            keep += 1
        chunks = chunks[:keep]
    samples_timed = sum(c.shape[0] for c in chunks)

    # spike fractions over the timed samples (separate no-grad pass: the reference's backward overwrites inf outputs in place)
    with torch.no_grad():
        hid, out = [], []
        for xc in chunks:
            o, h = net(xc)
            hid.append(h[1])  # hidden_times[1]: output of the hidden NeuronLayer
            out.append(o)
        hid, out = torch.cat(hid), torch.cat(out)
    frac_hidden = torch.isfinite(hid).double().mean().item()
    frac_out = torch.isfinite(out).double().mean().item()

    def step():
        net.zero_grad(set_to_none=True)
        total = 0.0
        for xc in chunks:
            o, _ = net(xc)
            loss = torch.where(torch.isinf(o), torch.zeros_like(o), o).sum()
            loss.backward()
            total += loss.item()
        return total

    t_last = None
    for _ in range(args.warmup):
        t0 = time.perf_counter()
        loss = step()
        t_last = time.perf_counter() - t0
    if t_last is None:
        t0 = time.perf_counter()
        loss = step()
        t_last = time.perf_counter() - t0
    grads_finite = all(torch.isfinite(p.grad).all().item() for p in net.parameters() if p.grad is not None)

    n_steps = max(1, math.ceil(args.min_rep_seconds / max(t_last, 1e-9)))
    per_step = []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        for _ in range(n_steps):
            step()
        per_step.append((time.perf_counter() - t0) / n_steps)
    call_s = statistics.median(per_step)
    samples_per_s = samples_timed / call_s

    return {
        "impl": "reference", "network": name, "delays": delays, "batch": args.batch,
        "threads": args.threads, "samples_per_s": samples_per_s,
        "seconds_per_step": args.batch / samples_per_s, "samples_timed": samples_timed,
        "extrapolated": samples_timed < args.batch, "median_s_per_call": call_s,
        "min_s_per_call": min(per_step), "max_s_per_call": max(per_step),
        "reps": args.reps, "calls_per_rep": n_steps, "micro_batch": chunk, "n_micro_batches": n_chunks,
        "hidden_spiking": frac_hidden, "output_spiking": frac_out, "loss": loss,
        "grads_finite": grads_finite, "n_params": n_params, "timed": "zero_grad+forward+backward",
        "loss_fn": "sum of finite output times", "dtype": "float64", "neuron": "tau_m=2tau_s",
        "drive_hidden": args.drive_hidden, "drive_out": args.drive_out, "max_dw_norm": args.max_dw_norm,
        "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(), "host": platform.node(),
    }


if __name__ == "__main__":
    main()
