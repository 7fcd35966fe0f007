#!/usr/bin/env python3
"""The ablation behind the -plus presets: every candidate procedure of
scripts/yinyang-plus-search.sh next to its paper preset, seeds 0 to 4, validation accuracy (what
the choice was made on) and test accuracy (reported only). The paper presets' runs are those of
scripts/yinyang-plus.sh (artifacts/yinyang-plus/<preset>-seed<seed>). Writes
artifacts/yinyang-plus/ablation.{md,csv}.
Usage: scripts/yinyang-plus-ablation.py
"""
import csv
import glob
import json
import os
import statistics

ROOT = os.path.join(os.path.dirname(__file__), "..", "artifacts", "yinyang-plus")
SEEDS = range(5)


def summaries(pattern):
    runs = []
    for seed in SEEDS:
        path = pattern.format(seed=seed)
        if os.path.exists(path):
            with open(path) as f:
                runs.append(json.load(f))
    return runs


def row(name, preset, flags, runs):
    val = [100 * r["val_accuracy"] for r in runs]
    test = [100 * r["test_accuracy"] for r in runs]
    secs = [r["train_seconds"] for r in runs]
    return {
        "candidate": name,
        "preset": preset,
        "flags": flags,
        "seeds": len(runs),
        "val_mean": round(statistics.mean(val), 2),
        "val_std": round(statistics.stdev(val), 2) if len(val) > 1 else 0.0,
        "val_worst": min(val),
        "test_mean": round(statistics.mean(test), 2),
        "test_std": round(statistics.stdev(test), 2) if len(test) > 1 else 0.0,
        "test_worst": min(test),
        "seconds": round(statistics.mean(secs), 1),
    }


def flags_of(summary, preset):
    c = summary["config"]
    base = {"epochs": 300, "lr_gamma": 0.95, "lr_step_epochs": 20}
    parts = []
    for key, default in base.items():
        if c[key] != default:
            parts.append(f"{key} {c[key]}")
    return ", ".join(parts)


def main():
    rows = []
    for preset in ["h30-ws", "h30-wa", "h30-w", "h5-ws"]:
        paper = summaries(os.path.join(ROOT, f"{preset}-seed{{seed}}", "summary.json"))
        if paper:
            rows.append(row("paper", preset, "300 epochs, lr x0.95 every 20", paper))
        for cdir in sorted(glob.glob(os.path.join(ROOT, "search", "*"))):
            runs = summaries(os.path.join(cdir, f"{preset}-seed{{seed}}", "summary.json"))
            if not runs:
                continue
            c = runs[0]["config"]
            flags = (
                f"{c['epochs']} epochs, lr x{c['lr_gamma']} every {c['lr_step_epochs']}"
                + (f", batch {c['batch_size']}" if c["batch_size"] != 150 else "")
                + (f", lr {c['lr']} / {c['lr_delays']}" if preset == "h30-ws" and c["lr"] != 0.01 else "")
                + (f", lr {c['lr']} / {c['lr_delays']}" if preset == "h30-wa" and c["lr"] != 0.005 else "")
                + (", TTFS cross-entropy loss" if "cross" in json.dumps(c["loss"]).lower() else "")
            )
            rows.append(row(os.path.basename(cdir), preset, flags, runs))
    with open(os.path.join(ROOT, "ablation.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    lines = [
        "| preset | procedure | seeds | validation (%) | worst val | test (%) | worst test | seconds per run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['preset']} | {r['flags']} ({r['candidate']}) | {r['seeds']} | "
            f"{r['val_mean']:.2f} ± {r['val_std']:.2f} | {r['val_worst']:.1f} | "
            f"{r['test_mean']:.2f} ± {r['test_std']:.2f} | {r['test_worst']:.1f} | {r['seconds']} |"
        )
    with open(os.path.join(ROOT, "ablation.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
