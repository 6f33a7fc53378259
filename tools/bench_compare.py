#!/usr/bin/env python3
"""tools/bench_compare.py — troupe against CAF and Go, the same macro benchmarks in one run.

Runs build/<preset>/bench/troupe_bench_macro, caf_bench_macro (bench/peers/caf/, built when
Debian's libcaf-dev is installed) and go_bench_macro (bench/peers/go/, built when golang-go
is installed) alternately, A B C A B C, for --reps repetitions, each with
--benchmark_format=json (the Go peer writes the same Google Benchmark JSON). Takes the median
items_per_second of every benchmark over the repetitions, prints a table of rates and the
ratios troupe/CAF and troupe/Go, and writes

  <out-dir>/results<suffix>.json   every repetition's numbers, the medians, the machine, the
                                   exact command
  <out-dir>/compare<suffix>.png    a bar chart: one group per benchmark, troupe vs CAF vs Go,
                                   log scale (plus BM_Spawn's bytes_per_actor in its own panel)

A peer whose binary is absent is left out, and the tool says so; with neither peer, troupe
runs alone. --peers chooses the peers (default: caf,go; --peers= runs troupe alone). A
benchmark binary that reports a wrong result (nonzero exit status) fails the whole comparison.

  tools/bench_compare.py                       # all hardware threads, 3 repetitions
  tools/bench_compare.py --workers=2 --reps=5
  tools/bench_compare.py --workers=1 --suffix=-w1 --filter='BM_(PingPong|Skynet)'
  tools/bench_compare.py --peers=go            # troupe and Go only
  tools/bench_compare.py -- --scale=0.1        # arguments after -- go to every binary

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

# The runtimes troupe is compared with: label, display name, binary, how to get it.
PEERS = [
    ("caf", "CAF", "caf_bench_macro", "apt-get install libcaf-dev"),
    ("go", "Go", "go_bench_macro", "apt-get install golang-go"),
]
DISPLAY = {"troupe": "troupe", **{label: shown for label, shown, _, _ in PEERS}}
COLORS = {"troupe": "#1f77b4", "caf": "#ff7f0e", "go": "#2ca02c"}
# The targets troupe is held to (docs/benchmarks.md): every macro benchmark at least this
# many times the peer's rate.
TARGETS = {"caf": 10.0, "go": 1.5}


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


def print_table(rows, peers, present, workers_label):
    """peers: the labels asked for; present: those whose binary ran."""
    print()
    ratios = "; ".join(f"troupe/{DISPLAY[p]} = troupe / {DISPLAY[p]}" for p in peers)
    print(f"Medians of items_per_second ({workers_label})" + (f"; {ratios}" if ratios else "")
          + "; spread = (max - min) / median over the repetitions")
    sides = ["troupe"] + peers
    head = (["benchmark", "unit"] + [DISPLAY[x] for x in sides]
            + [f"troupe/{DISPLAY[p]}" for p in peers]
            + [f"spread {DISPLAY[x]}" for x in sides])
    lines = []
    for r in rows:
        line = [r["name"], r["unit"]]
        line += [fmt_rate(r["rate"].get(x)) if x in present else "(absent)" for x in sides]
        line += [f"{r['ratio'][p]:.1f}x" if r["ratio"].get(p) else "—" for p in peers]
        line += [fmt_spread(r["series"].get(x)) if x in present else "—" for x in sides]
        lines.append(line)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines)]
    sep = "  "
    print(sep.join(h.ljust(w) for h, w in zip(head, widths)))
    print(sep.join("-" * w for w in widths))
    for line in lines:
        print(sep.join(str(x).rjust(w) if i >= 2 else str(x).ljust(w)
                       for i, (x, w) in enumerate(zip(line, widths))))


def print_targets(rows, present):
    """Which benchmarks meet troupe's targets against each present peer (TARGETS)."""
    for p in [p for p in TARGETS if p in present]:
        met = [r["name"] for r in rows if r["ratio"].get(p) and r["ratio"][p] >= TARGETS[p]]
        missed = [f"{r['name']} ({r['ratio'][p]:.1f}x)" for r in rows
                  if r["ratio"].get(p) and r["ratio"][p] < TARGETS[p]]
        print(f"target troupe >= {TARGETS[p]:g}x {DISPLAY[p]}: met by {len(met)} of "
              f"{len(met) + len(missed)}" + (f"; missed: {', '.join(missed)}" if missed else ""))


def draw(plt, rows, memory, sides, versions, title, png_path):
    """sides: the runtimes that ran, troupe first; versions: label -> version for the legend."""
    rate_rows = [r for r in rows if any(r["rate"].get(x) for x in sides)]
    panels = 2 if memory else 1
    fig, axes = plt.subplots(1, panels, figsize=(12.5 if memory else 10, 5.6), squeeze=False,
                             gridspec_kw={"width_ratios": [5, 1] if memory else [1]})
    ax = axes[0][0]
    n = len(sides)
    width = 0.8 / n if n > 1 else 0.6
    xs = list(range(len(rate_rows)))

    def pos(x, k):  # the k-th side's bar in group x
        return x + (k - (n - 1) / 2) * width

    def legend_name(x):
        return f"{DISPLAY[x]} {versions.get(x, '')}".rstrip()

    for k, side in enumerate(sides):
        vals = [r["rate"].get(side) or 0 for r in rate_rows]
        ax.bar([pos(x, k) for x in xs], vals, width, color=COLORS[side], label=legend_name(side),
               zorder=3)
    ax.set_yscale("log")
    ax.set_xticks(xs)
    ax.set_xticklabels([f"{r['name'][3:]}\n({r['unit']})" for r in rate_rows], fontsize=7,
                       rotation=20, ha="right", rotation_mode="anchor")
    ax.set_ylabel("items per second (median, log scale)")
    ax.grid(axis="y", which="both", alpha=0.3, zorder=0)
    ax.legend(loc="upper right", fontsize=8)
    present = [r["rate"][x] for r in rate_rows for x in sides if r["rate"].get(x)]
    if present:  # bars start one decade below the smallest value's decade
        ax.set_ylim(bottom=10 ** (math.floor(math.log10(min(present))) - 1),
                    top=max(present) * 12)
    for x, r in zip(xs, rate_rows):
        for k, side in enumerate(sides):
            value = r["rate"].get(side)
            if value:
                ax.annotate(fmt_rate(value), (pos(x, k), value), ha="center", va="bottom",
                            fontsize=6, xytext=(0, 2), textcoords="offset points", rotation=90)
            else:  # the benchmark exists on some sides only
                ax.annotate(f"{DISPLAY[side]}:\nn/a", (pos(x, k), ax.get_ylim()[0]),
                            ha="center", va="bottom", fontsize=6, xytext=(0, 3),
                            textcoords="offset points")
        ratios = [f"{r['ratio'][p]:.1f}× {DISPLAY[p]}" for p in sides[1:] if r["ratio"].get(p)]
        if ratios:
            peak = max(r["rate"][x] for x in sides if r["rate"].get(x))
            ax.annotate("\n".join(ratios), (x, peak * 3.5), ha="center", va="bottom",
                        fontsize=7, fontweight="bold")
    ax.set_title("throughput (higher is better)"
                 + ("; bold: troupe / peer" if len(sides) > 1 else ""), fontsize=10)

    if memory:
        mx = axes[0][1]
        shown = [x for x in sides if memory.get(x)]
        vals = [memory[x] for x in shown]
        mx.bar(range(len(vals)), vals, 0.6, color=[COLORS[x] for x in shown], zorder=3)
        mx.set_yscale("log")
        mx.set_xticks(range(len(vals)))
        mx.set_xticklabels([DISPLAY[x] for x in shown], fontsize=9)
        mx.grid(axis="y", which="both", alpha=0.3, zorder=0)
        mx.set_ylim(bottom=10 ** (math.floor(math.log10(max(10.0, min(vals)))) - 1),
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
        description="Run troupe_bench_macro, caf_bench_macro and go_bench_macro alternately "
                    "and compare.",
        epilog="Arguments after -- are passed to every benchmark binary.")
    ap.add_argument("--workers", type=int, default=None,
                    help="worker threads of every runtime (Go: GOMAXPROCS; default: all "
                         "hardware threads)")
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
    ap.add_argument("--go", default=None, help="path of go_bench_macro")
    ap.add_argument("--peers", default="caf,go",
                    help="comma-separated peers to compare with, of caf and go (default "
                         "caf,go; empty: troupe alone)")
    ap.add_argument("--no-plot", action="store_true", help="do not draw the PNG")
    ap.add_argument("passthrough", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.reps < 1:
        ap.error("--reps must be at least 1")
    if args.workers is not None and args.workers < 1:
        ap.error("--workers must be at least 1")
    wanted = [p for p in args.peers.split(",") if p]
    unknown = [p for p in wanted if p not in DISPLAY or p == "troupe"]
    if unknown:
        ap.error(f"--peers: unknown peer(s) {', '.join(unknown)} (known: caf, go)")
    peers = [label for label, _, _, _ in PEERS if label in wanted]

    plt = ensure_matplotlib(not args.no_plot)

    troupe_bin = args.troupe or os.path.join(args.build_dir, "bench", "troupe_bench_macro")
    if not os.access(troupe_bin, os.X_OK):
        sys.exit(f"bench_compare: {troupe_bin} not found; build it first:\n"
                 "  cmake --preset release && cmake --build --preset release")
    sides = [("troupe", troupe_bin)]
    for label, shown, binary, install in PEERS:
        if label not in peers:
            continue
        path = getattr(args, label) or os.path.join(args.build_dir, "bench", binary)
        if os.access(path, os.X_OK):
            sides.append((label, path))
        else:
            print(f"bench_compare: {shown} peer {path} not found ({install}, then rebuild): "
                  f"comparing without {shown}", file=sys.stderr, flush=True)
    present = {label for label, _ in sides}
    if len(sides) == 1:
        print("bench_compare: no peer to compare with: running troupe ALONE, no ratios",
              file=sys.stderr, flush=True)

    bench_args = []
    if args.workers is not None:
        bench_args.append(f"--workers={args.workers}")
    if args.filter:
        bench_args.append(f"--benchmark_filter={args.filter}")
    bench_args += args.passthrough

    raw = {label: [] for label, _ in sides}
    contexts = {}
    seconds = {label: 0.0 for label, _ in sides}
    load_before = os.getloadavg()
    started = datetime.datetime.now(datetime.timezone.utc)
    for rep in range(1, args.reps + 1):
        for label, path in sides:  # A B C A B C ...
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
        med, series_of = {}, {}
        for label, _ in sides:
            series = [rep[n]["items_per_second"] if n in rep else None for rep in raw[label]]
            side = {"items_per_second": series,
                    "median_items_per_second": median_or_none(series)}
            bpa = [rep[n].get("bytes_per_actor") for rep in raw[label] if n in rep]
            if any(v is not None for v in bpa):
                side["bytes_per_actor"] = bpa
                side["median_bytes_per_actor"] = median_or_none(bpa)
            entry[label] = side
            med[label] = side["median_items_per_second"]
            series_of[label] = series
        ratio = {}
        for p in peers:
            ratio[p] = (med["troupe"] / med[p] if med.get("troupe") and med.get(p) else None)
            entry[f"ratio_troupe_over_{p}"] = ratio[p]
        per_bench[n] = entry
        rows.append({"name": n, "unit": entry["unit"], "rate": med, "ratio": ratio,
                     "series": series_of})

    workers = (contexts.get("troupe", {}).get("troupe_workers")
               or (str(args.workers) if args.workers else str(os.cpu_count())))
    workers_label = (f"{workers} worker{'s' if workers != '1' else ''}, "
                     f"{args.reps} rep{'s' if args.reps != 1 else ''}")
    print_table(rows, peers, present, workers_label)

    memory = None
    spawn = per_bench.get("BM_Spawn")
    if spawn and "median_bytes_per_actor" in spawn.get("troupe", {}):
        memory = {label: spawn.get(label, {}).get("median_bytes_per_actor")
                  for label, _ in sides}
        parts = [f"{DISPLAY[label]} {memory[label]:.0f}" for label, _ in sides if memory[label]]
        line = "BM_Spawn bytes_per_actor (median): " + ", ".join(parts)
        ratios = [f"{DISPLAY[p]}/troupe = {memory[p] / memory['troupe']:.1f}x"
                  for p in peers if memory.get(p) and memory["troupe"]]
        if ratios:
            line += "  (" + ", ".join(ratios) + ")"
        print(line)
    print_targets(rows, present)
    if len(sides) == 1 and peers:
        print("(no peer present: troupe ran alone. apt-get install libcaf-dev golang-go and "
              "rebuild to compare.)")

    machine = machine_info()
    command = shlex.join([os.path.relpath(sys.argv[0], os.getcwd())] + sys.argv[1:])
    versions = {}
    if contexts.get("caf", {}).get("caf_version"):
        versions["caf"] = contexts["caf"]["caf_version"]
    if contexts.get("go", {}).get("go_version"):
        versions["go"] = contexts["go"]["go_version"].removeprefix("go")
    doc = {
        "tool": "tools/bench_compare.py",
        "command": command,
        "started_utc": started.isoformat(timespec="seconds"),
        "machine": machine,
        "load_average_1m_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        "workers": workers,
        "reps": args.reps,
        "order": "alternating, in each repetition troupe first, then "
                 + (", ".join(DISPLAY[label] for label, _ in sides[1:]) or "nothing else"),
        "statistic": "median over repetitions of each run's items_per_second",
        "binaries": {label: path for label, path in sides},
        "seconds_per_side": {k: round(v, 1) for k, v in seconds.items()},
        "contexts": contexts,
        "caf_present": "caf" in present,
        "go_present": "go" in present,
        "peer_versions": versions,
        "benchmarks": per_bench,
    }
    os.makedirs(args.out_dir, exist_ok=True)
    json_path = os.path.join(args.out_dir, f"results{args.suffix}.json")
    with open(json_path, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    print(f"\nwrote {shown_path(json_path)}")

    if plt is not None and rows:
        side_labels = [label for label, _ in sides]
        title = " vs ".join(f"{DISPLAY[x]} {versions.get(x, '')}".rstrip() for x in side_labels)
        if len(sides) == 1:
            title = "troupe (no peer present)"
        title += f" — {workers_label}; {machine['nproc']} × {machine['cpu_model']}"
        png_path = os.path.join(args.out_dir, f"compare{args.suffix}.png")
        draw(plt, rows, memory, side_labels, versions, title, png_path)
        print(f"wrote {shown_path(png_path)}")
    print(f"machine: {machine['nproc']} CPUs, {machine['cpu_model']}, {machine['os']}, "
          f"kernel {machine['kernel']}; load average {load_before[0]:.2f} before, "
          f"{load_after[0]:.2f} after")
    print(f"command: {command}")


if __name__ == "__main__":
    main()
