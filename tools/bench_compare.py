#!/usr/bin/env python3
"""tools/bench_compare.py — troupe against CAF, the same macro benchmarks in one run.

Runs build/<preset>/bench/troupe_bench_macro and caf_bench_macro (bench/peers/caf/, built
when Debian's libcaf-dev is installed) alternately, A B A B, for --reps repetitions, each
with --benchmark_format=json. Takes the median items_per_second of every benchmark over the
repetitions, prints a table of rates and ratios troupe/CAF, and writes

  <out-dir>/results<suffix>.json   every repetition's numbers, the medians, the machine, the
                                   exact command
  <out-dir>/compare<suffix>.png    a bar chart: one group per benchmark, troupe vs CAF, log
                                   scale (plus BM_Spawn's bytes_per_actor in its own panel)

When caf_bench_macro is absent, troupe runs alone and the tool says so. A benchmark binary
that reports a wrong result (nonzero exit status) fails the whole comparison.

  tools/bench_compare.py                       # all hardware threads, 3 repetitions
  tools/bench_compare.py --workers=2 --reps=5
  tools/bench_compare.py --workers=1 --suffix=-w1 --filter='BM_(PingPong|Skynet)'
  tools/bench_compare.py -- --scale=0.1        # arguments after -- go to both binaries

Needs python3 and, for the PNG only, matplotlib (Debian: apt-get install python3-matplotlib).
If the python3 running this lacks matplotlib but Debian's /usr/bin/python3 has it, the tool
re-runs itself with /usr/bin/python3.
"""

import argparse
import datetime
import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Display order and the unit items_per_second counts, per benchmark (issue 3's table).
KNOWN = [
    ("BM_PingPong", "messages/s"),
    ("BM_FanIn", "messages/s"),
    ("BM_ThreadRing", "hops/s"),
    ("BM_ForkJoinThroughput", "messages/s"),
    ("BM_Skynet", "actors/s"),
    ("BM_Spawn", "actors/s"),
    ("BM_Chameneos", "meetings/s"),
    ("BM_Big", "messages/s"),
]
UNITS = dict(KNOWN)
ORDER = {name: i for i, (name, _) in enumerate(KNOWN)}


def ensure_matplotlib(want_plot):
    """Returns the pyplot module, or None (after saying why) when the PNG cannot be drawn."""
    if not want_plot:
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        return plt
    except ImportError:
        pass
    debian = "/usr/bin/python3"
    if (os.path.exists(debian) and os.path.realpath(sys.executable) != os.path.realpath(debian)
            and not os.environ.get("BENCH_COMPARE_REEXEC")):
        probe = subprocess.run([debian, "-c", "import matplotlib"], capture_output=True)
        if probe.returncode == 0:
            print(f"bench_compare: {sys.executable} has no matplotlib; re-running with {debian}",
                  file=sys.stderr, flush=True)
            os.environ["BENCH_COMPARE_REEXEC"] = "1"
            os.execv(debian, [debian, os.path.abspath(__file__)] + sys.argv[1:])
    print("bench_compare: matplotlib is not installed (apt-get install python3-matplotlib); "
          "the PNG chart will not be drawn", file=sys.stderr)
    return None


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info():
    info = {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model(),
        "kernel": platform.release(),
        "os": "",
    }
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    info["os"] = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            info["mem_total_kib"] = int(f.readline().split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return info


def base_name(run_name):
    """'BM_FanIn/iterations:3/manual_time' -> 'BM_FanIn'."""
    return run_name.split("/", 1)[0]


def run_binary(label, path, args, rep, reps):
    """Runs one benchmark binary once; returns (per-benchmark results, context, seconds)."""
    with tempfile.NamedTemporaryFile(prefix=f"bench_{label}_", suffix=".json",
                                     delete=False) as tmp:
        out_path = tmp.name
    cmd = [path] + args + ["--benchmark_format=json", f"--benchmark_out={out_path}",
                           "--benchmark_out_format=json"]
    print(f"[{rep}/{reps}] {label:6s} {shlex.join(cmd[:1] + args)}", file=sys.stderr, flush=True)
    t0 = time.monotonic()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.monotonic() - t0
    try:
        with open(out_path) as f:
            doc = json.load(f)
    except (OSError, json.JSONDecodeError):
        doc = None
    finally:
        try:
            os.unlink(out_path)
        except OSError:
            pass
    if proc.returncode == 0 and (doc is None or not doc.get("benchmarks")):
        sys.stderr.write(proc.stderr[-4000:])
        sys.exit(f"bench_compare: {label} ran no benchmark: does --filter match? (run names "
                 "end in /iterations:3/manual_time, so a filter anchored with $ matches none)")
    if proc.returncode != 0 or doc is None:
        sys.stderr.write(proc.stderr[-4000:])
        sys.exit(f"bench_compare: {label} failed (exit status {proc.returncode}) after "
                 f"{elapsed:.1f} s: a wrong result or a crash; no comparison written")
    results = {}
    for b in doc.get("benchmarks", []):
        if b.get("run_type", "iteration") != "iteration":
            continue  # aggregates (only with --benchmark_repetitions) are recomputed here
        name = base_name(b.get("run_name", b["name"]))
        if b.get("error_occurred"):
            sys.exit(f"bench_compare: {label} {name}: {b.get('error_message', 'error')}")
        entry = {"items_per_second": b.get("items_per_second"),
                 "real_time": b.get("real_time"), "time_unit": b.get("time_unit")}
        if "bytes_per_actor" in b:
            entry["bytes_per_actor"] = b["bytes_per_actor"]
        results[name] = entry
    print(f"        {label:6s} done in {elapsed:.1f} s", file=sys.stderr, flush=True)
    return results, doc.get("context", {}), elapsed


def median_or_none(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt_rate(v):
    if v is None:
        return "—"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= scale:
            return f"{v / scale:.3g} {suffix}"
    return f"{v:.3g}"


def fmt_spread(series):
    """(max − min) / median of the repetitions, in percent: how noisy the median is."""
    values = [v for v in (series or []) if v]
    if len(values) < 2:
        return "—"
    return f"{100 * (max(values) - min(values)) / statistics.median(values):.0f}%"


def print_table(rows, have_caf, workers_label):
    print()
    print(f"Medians of items_per_second ({workers_label}); ratio = troupe / CAF; "
          "spread = (max - min) / median over the repetitions")
    head = ["benchmark", "unit", "troupe", "CAF", "troupe/CAF", "spread troupe", "spread CAF"]
    lines = []
    for r in rows:
        ratio = f"{r['ratio']:.1f}x" if r.get("ratio") else "—"
        lines.append([r["name"], r["unit"], fmt_rate(r["troupe"]),
                      fmt_rate(r["caf"]) if have_caf else "(absent)", ratio,
                      fmt_spread(r.get("troupe_series")),
                      fmt_spread(r.get("caf_series")) if have_caf else "—"])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines)]
    sep = "  "
    print(sep.join(h.ljust(w) for h, w in zip(head, widths)))
    print(sep.join("-" * w for w in widths))
    for line in lines:
        print(sep.join(str(x).rjust(w) if i >= 2 else str(x).ljust(w)
                       for i, (x, w) in enumerate(zip(line, widths))))


def draw(plt, rows, memory, have_caf, title, png_path):
    rate_rows = [r for r in rows if r["troupe"] is not None or r["caf"] is not None]
    panels = 2 if memory else 1
    fig, axes = plt.subplots(1, panels, figsize=(11 if memory else 9, 5.2), squeeze=False,
                             gridspec_kw={"width_ratios": [5, 1] if memory else [1]})
    ax = axes[0][0]
    width = 0.38 if have_caf else 0.6
    xs = list(range(len(rate_rows)))
    colors = {"troupe": "#1f77b4", "CAF": "#ff7f0e"}

    def bars(axis, positions, values, color, label):
        vals = [v if v else 0 for v in values]
        return axis.bar(positions, vals, width, color=color, label=label, zorder=3)

    t_pos = [x - width / 2 for x in xs] if have_caf else xs
    bars(ax, t_pos, [r["troupe"] for r in rate_rows], colors["troupe"], "troupe")
    if have_caf:
        bars(ax, [x + width / 2 for x in xs], [r["caf"] for r in rate_rows], colors["CAF"],
             "CAF 0.17")
    ax.set_yscale("log")
    ax.set_xticks(xs)
    ax.set_xticklabels([f"{r['name'][3:]}\n({r['unit']})" for r in rate_rows], fontsize=9)
    ax.set_ylabel("items per second (median, log scale)")
    ax.grid(axis="y", which="both", alpha=0.3, zorder=0)
    ax.legend(loc="upper right")
    present = [v for r in rate_rows for v in (r["troupe"], r["caf"]) if v]
    if present:  # bars start one decade below the smallest value's decade
        ax.set_ylim(bottom=10 ** (math.floor(math.log10(min(present))) - 1),
                    top=max(present) * 6)
    for x, r in zip(xs, rate_rows):
        if r["troupe"]:
            ax.annotate(fmt_rate(r["troupe"]), (t_pos[x], r["troupe"]), ha="center",
                        va="bottom", fontsize=7, xytext=(0, 2), textcoords="offset points")
        if have_caf and r["caf"]:
            ax.annotate(fmt_rate(r["caf"]), (x + width / 2, r["caf"]), ha="center",
                        va="bottom", fontsize=7, xytext=(0, 2), textcoords="offset points")
        for label, pos, value in (("troupe", t_pos[x], r["troupe"]),
                                  ("CAF", x + width / 2, r["caf"] if have_caf else 1)):
            if not value:  # the benchmark exists on one side only
                ax.annotate(f"{label}:\nn/a", (pos, ax.get_ylim()[0]), ha="center",
                            va="bottom", fontsize=7, xytext=(0, 3), textcoords="offset points")
        if r.get("ratio"):
            peak = max(v for v in (r["troupe"], r["caf"]) if v)
            ax.annotate(f"{r['ratio']:.1f}×", (x, peak * 2.2), ha="center", va="bottom",
                        fontsize=10, fontweight="bold")
    ax.set_title("throughput (higher is better)" + ("; bold: troupe / CAF" if have_caf else ""),
                 fontsize=10)

    if memory:
        mx = axes[0][1]
        labels = ["troupe"] + (["CAF 0.17"] if have_caf and memory.get("caf") else [])
        vals = [memory.get("troupe") or 0] + ([memory["caf"]] if len(labels) > 1 else [])
        mx.bar(range(len(vals)), vals, 0.6, color=[colors["troupe"], colors["CAF"]][:len(vals)],
               zorder=3)
        mx.set_yscale("log")
        mx.set_xticks(range(len(vals)))
        mx.set_xticklabels(labels, fontsize=9)
        mx.grid(axis="y", which="both", alpha=0.3, zorder=0)
        mx.set_ylim(
            bottom=10 ** (math.floor(math.log10(max(10.0, min(v for v in vals if v)))) - 1),
            top=max(vals) * 6)
        for i, v in enumerate(vals):
            mx.annotate(f"{v:.0f} B", (i, v), ha="center", va="bottom", fontsize=8,
                        xytext=(0, 2), textcoords="offset points")
        mx.set_ylabel("bytes (log scale)")
        mx.set_title("bytes per idle actor\n(BM_Spawn peak RSS;\nlower is better)", fontsize=9)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(png_path, dpi=120)
    plt.close(fig)


def shown_path(path):
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def main():
    sys.stdout.reconfigure(line_buffering=True)
    ap = argparse.ArgumentParser(
        description="Run troupe_bench_macro and caf_bench_macro alternately and compare.",
        epilog="Arguments after -- are passed to both benchmark binaries.")
    ap.add_argument("--workers", type=int, default=None,
                    help="worker threads for both runtimes (default: all hardware threads)")
    ap.add_argument("--filter", default=None, help="Google Benchmark --benchmark_filter regex")
    ap.add_argument("--reps", type=int, default=3, help="alternating repetitions (default 3)")
    ap.add_argument("--out-dir", default=os.path.join(REPO, "docs", "bench"),
                    help="where results<suffix>.json and compare<suffix>.png go "
                         "(default docs/bench)")
    ap.add_argument("--suffix", default="", help="appended to the output file names, e.g. -w1")
    ap.add_argument("--build-dir", default=os.path.join(REPO, "build", "release"),
                    help="build tree holding bench/*_bench_macro (default build/release)")
    ap.add_argument("--troupe", default=None, help="path of troupe_bench_macro")
    ap.add_argument("--caf", default=None, help="path of caf_bench_macro")
    ap.add_argument("--no-plot", action="store_true", help="do not draw the PNG")
    ap.add_argument("passthrough", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.reps < 1:
        ap.error("--reps must be at least 1")
    if args.workers is not None and args.workers < 1:
        ap.error("--workers must be at least 1")

    plt = ensure_matplotlib(not args.no_plot)

    troupe_bin = args.troupe or os.path.join(args.build_dir, "bench", "troupe_bench_macro")
    caf_bin = args.caf or os.path.join(args.build_dir, "bench", "caf_bench_macro")
    if not os.access(troupe_bin, os.X_OK):
        sys.exit(f"bench_compare: {troupe_bin} not found; build it first:\n"
                 "  cmake --preset release && cmake --build --preset release")
    have_caf = os.access(caf_bin, os.X_OK)
    if not have_caf:
        print(f"bench_compare: CAF peer {caf_bin} not found (apt-get install libcaf-dev, then "
              "rebuild): running troupe ALONE, no ratios", file=sys.stderr, flush=True)

    bench_args = []
    if args.workers is not None:
        bench_args.append(f"--workers={args.workers}")
    if args.filter:
        bench_args.append(f"--benchmark_filter={args.filter}")
    bench_args += args.passthrough

    sides = [("troupe", troupe_bin)] + ([("caf", caf_bin)] if have_caf else [])
    raw = {label: [] for label, _ in sides}
    contexts = {}
    seconds = {label: 0.0 for label, _ in sides}
    load_before = os.getloadavg()
    started = datetime.datetime.now(datetime.timezone.utc)
    for rep in range(1, args.reps + 1):
        for label, path in sides:  # A B A B ...
            res, ctx, secs = run_binary(label, path, bench_args, rep, args.reps)
            raw[label].append(res)
            contexts[label] = ctx
            seconds[label] += secs
    load_after = os.getloadavg()

    names = sorted({n for label in raw for rep in raw[label] for n in rep},
                   key=lambda n: (ORDER.get(n, len(ORDER)), n))
    rows, per_bench = [], {}
    for n in names:
        entry = {"unit": UNITS.get(n, "items/s")}
        med = {}
        for label in ("troupe", "caf"):
            if label not in raw:
                continue
            series = [rep[n]["items_per_second"] if n in rep else None for rep in raw[label]]
            side = {"items_per_second": series,
                    "median_items_per_second": median_or_none(series)}
            bpa = [rep[n].get("bytes_per_actor") for rep in raw[label] if n in rep]
            if any(v is not None for v in bpa):
                side["bytes_per_actor"] = bpa
                side["median_bytes_per_actor"] = median_or_none(bpa)
            entry[label] = side
            med[label] = side["median_items_per_second"]
        ratio = (med["troupe"] / med["caf"]
                 if med.get("troupe") and med.get("caf") else None)
        entry["ratio_troupe_over_caf"] = ratio
        per_bench[n] = entry
        rows.append({"name": n, "unit": entry["unit"], "troupe": med.get("troupe"),
                     "caf": med.get("caf"), "ratio": ratio,
                     "troupe_series": entry.get("troupe", {}).get("items_per_second"),
                     "caf_series": entry.get("caf", {}).get("items_per_second")})

    workers = (contexts.get("troupe", {}).get("troupe_workers")
               or (str(args.workers) if args.workers else str(os.cpu_count())))
    workers_label = (f"{workers} worker{'s' if workers != '1' else ''}, "
                     f"{args.reps} rep{'s' if args.reps != 1 else ''}")
    print_table(rows, have_caf, workers_label)

    memory = None
    spawn = per_bench.get("BM_Spawn")
    if spawn and "median_bytes_per_actor" in spawn.get("troupe", {}):
        memory = {"troupe": spawn["troupe"]["median_bytes_per_actor"],
                  "caf": spawn.get("caf", {}).get("median_bytes_per_actor")}
        line = f"BM_Spawn bytes_per_actor (median): troupe {memory['troupe']:.0f}"
        if memory["caf"]:
            line += (f", CAF {memory['caf']:.0f}  (CAF/troupe = "
                     f"{memory['caf'] / memory['troupe']:.1f}x)")
        print(line)
    if not have_caf:
        print("(CAF peer absent: troupe ran alone. apt-get install libcaf-dev and rebuild to "
              "compare.)")

    machine = machine_info()
    command = shlex.join([os.path.relpath(sys.argv[0], os.getcwd())] + sys.argv[1:])
    doc = {
        "tool": "tools/bench_compare.py",
        "command": command,
        "started_utc": started.isoformat(timespec="seconds"),
        "machine": machine,
        "load_average_1m_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        "workers": workers,
        "reps": args.reps,
        "order": "alternating, troupe first in each repetition",
        "statistic": "median over repetitions of each run's items_per_second",
        "binaries": {label: path for label, path in sides},
        "seconds_per_side": {k: round(v, 1) for k, v in seconds.items()},
        "contexts": contexts,
        "caf_present": have_caf,
        "benchmarks": per_bench,
    }
    os.makedirs(args.out_dir, exist_ok=True)
    json_path = os.path.join(args.out_dir, f"results{args.suffix}.json")
    with open(json_path, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    print(f"\nwrote {shown_path(json_path)}")

    if plt is not None and rows:
        caf_version = contexts.get("caf", {}).get("caf_version", "")
        title = (f"troupe vs CAF {caf_version}".rstrip() if have_caf else "troupe (CAF absent)")
        title += (f" — {workers_label}; {machine['nproc']} × {machine['cpu_model']}")
        png_path = os.path.join(args.out_dir, f"compare{args.suffix}.png")
        draw(plt, rows, memory, have_caf, title, png_path)
        print(f"wrote {shown_path(png_path)}")
    print(f"machine: {machine['nproc']} CPUs, {machine['cpu_model']}, {machine['os']}, "
          f"kernel {machine['kernel']}; load average {load_before[0]:.2f} before, "
          f"{load_after[0]:.2f} after")
    print(f"command: {command}")


if __name__ == "__main__":
    main()
