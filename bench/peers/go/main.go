// go_bench_macro — troupe's macro benchmarks (bench/macro/, and their CAF peers in
// bench/peers/caf/) written in Go the way Go programs are written: a goroutine per actor,
// channels as mailboxes, a producer that sends its whole share in one loop. Same names,
// workload sizes, options and result checks as troupe_bench_macro, and the same Google
// Benchmark JSON, so that tools/bench_compare.py can set the three runtimes side by side.
//
//	go_bench_macro [--workers=N] [--scale=F] [--timeout=S] [--benchmark_filter=REGEX]
//	               [--benchmark_format=console|json] [--benchmark_out=FILE]
//	               [--benchmark_out_format=json] [--benchmark_list_tests]
//
// --workers=N sets GOMAXPROCS (default: one per hardware thread, Go's own default), the
// counterpart of troupe's worker threads and CAF's scheduler threads. Every benchmark runs
// 3 iterations with fresh goroutines and channels and reports manual time (the span from the
// first send to the completion signal), as the C++ programs do. The exit status is nonzero
// if any benchmark produced a wrong result; a hang aborts the run.
package main

import (
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// iterations per benchmark, as the C++ programs' Iterations(3).
const iterations = 3

type benchmark struct {
	name string
	run  func(s *state)
}

// The display order of tools/bench_compare.py.
var benchmarks = []benchmark{
	{"BM_PingPong", benchPingPong},
	{"BM_FanIn", benchFanIn},
	{"BM_ThreadRing", benchThreadRing},
	{"BM_ForkJoinThroughput", benchForkJoinThroughput},
	{"BM_Skynet", benchSkynet},
	{"BM_Spawn", benchSpawn},
	{"BM_Chameneos", benchChameneos},
	{"BM_Big", benchBig},
}

// runName is Google Benchmark's name for a manual-time benchmark with fixed iterations.
func runName(name string) string {
	return fmt.Sprintf("%s/iterations:%d/manual_time", name, iterations)
}

func usage(bad string) {
	fmt.Fprintf(os.Stderr, "go_bench_macro: invalid option '%s'\n", bad)
	fmt.Fprintln(os.Stderr, "usage: go_bench_macro [--workers=N] [--scale=F] [--timeout=S] "+
		"[--benchmark_filter=REGEX] [--benchmark_format=console|json] "+
		"[--benchmark_out=FILE] [--benchmark_out_format=json] [--benchmark_list_tests]")
	os.Exit(2)
}

func main() {
	filter, format, outPath, listOnly := "", "console", "", false
	for _, arg := range os.Args[1:] {
		key, value, hasValue := strings.Cut(arg, "=")
		switch {
		case key == "--workers" && hasValue:
			n, err := strconv.ParseUint(value, 10, 32)
			if err != nil || n > 4096 {
				usage(arg)
			}
			opts.workers = int(n)
		case key == "--scale" && hasValue:
			f, err := strconv.ParseFloat(value, 64)
			if err != nil || !(f > 0) || f > 1e9 {
				usage(arg)
			}
			opts.scale = f
		case key == "--timeout" && hasValue:
			n, err := strconv.ParseUint(value, 10, 32)
			if err != nil || n == 0 {
				usage(arg)
			}
			opts.timeout = time.Duration(n) * time.Second
		case key == "--benchmark_filter" && hasValue:
			filter = value
		case key == "--benchmark_format" && hasValue && (value == "console" || value == "json"):
			format = value
		case key == "--benchmark_out" && hasValue:
			outPath = value
		case key == "--benchmark_out_format" && value == "json":
		case arg == "--benchmark_list_tests" || arg == "--benchmark_list_tests=true":
			listOnly = true
		default:
			usage(arg)
		}
	}
	runtime.GOMAXPROCS(workers())

	selected, err := selectBenchmarks(filter)
	if err != nil {
		fmt.Fprintf(os.Stderr, "go_bench_macro: bad --benchmark_filter: %v\n", err)
		os.Exit(2)
	}
	if listOnly {
		for _, b := range selected {
			fmt.Println(runName(b.name))
		}
		return
	}

	ctx := newContext()
	if format == "console" {
		printConsoleHeader(ctx)
	}
	var results []*state
	failed := false
	for _, b := range selected {
		s := &state{name: b.name, iterations: iterations, counters: map[string]float64{}}
		b.run(s)
		results = append(results, s)
		failed = failed || s.errMessage != ""
		if format == "console" {
			printConsoleLine(s)
		}
	}
	if format == "json" {
		writeJSON(os.Stdout, ctx, results)
	}
	if outPath != "" {
		f, err := os.Create(outPath)
		if err != nil {
			fmt.Fprintf(os.Stderr, "go_bench_macro: %v\n", err)
			os.Exit(1)
		}
		writeJSON(f, ctx, results)
		if err := f.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "go_bench_macro: %v\n", err)
			os.Exit(1)
		}
	}
	if failed {
		fmt.Fprintln(os.Stderr, "go_bench: FAILED: at least one benchmark produced a wrong result")
		os.Exit(1)
	}
}

// selectBenchmarks applies a Google Benchmark filter: a regular expression searched for in
// each run name; a leading '-' selects the names it does not match.
func selectBenchmarks(filter string) ([]benchmark, error) {
	negate := strings.HasPrefix(filter, "-")
	if negate {
		filter = filter[1:]
	}
	if filter == "" || filter == "all" {
		filter = "."
	}
	re, err := regexp.Compile(filter)
	if err != nil {
		return nil, err
	}
	var out []benchmark
	for _, b := range benchmarks {
		if re.MatchString(runName(b.name)) != negate {
			out = append(out, b)
		}
	}
	return out, nil
}
