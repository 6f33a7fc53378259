// The output of go_bench_macro: Google Benchmark's JSON schema (the fields
// tools/bench_compare.py and other Google Benchmark readers use) and a console table.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"time"
)

type context struct {
	fields map[string]any
}

func newContext() context {
	host, _ := os.Hostname()
	exe, _ := os.Executable()
	f := map[string]any{
		"date":               time.Now().Format(time.RFC3339),
		"host_name":          host,
		"executable":         exe,
		"num_cpus":           runtime.NumCPU(),
		"library_build_type": "release",
		"go_version":         runtime.Version(),
		"go_workers":         strconv.Itoa(workers()),
	}
	if opts.scale != 1 {
		f["go_scale"] = strconv.FormatFloat(opts.scale, 'f', 6, 64)
	}
	return context{fields: f}
}

// entry is one benchmark's result in Google Benchmark's JSON ("run_type": "iteration").
// real_time is the mean manual time per iteration and items_per_second = items / total
// manual time, as Google Benchmark computes them for UseManualTime(); cpu_time repeats
// real_time (Go has no per-goroutine CPU clock; readers of this schema expect the field).
func entry(s *state, index int) map[string]any {
	name := runName(s.name)
	perIterMs := 0.0
	if s.iterations > 0 {
		perIterMs = 1e3 * s.seconds / float64(s.iterations)
	}
	e := map[string]any{
		"name":                      name,
		"family_index":              index,
		"per_family_instance_index": 0,
		"run_name":                  name,
		"run_type":                  "iteration",
		"repetitions":               1,
		"repetition_index":          0,
		"threads":                   1,
		"iterations":                s.iterations,
		"real_time":                 perIterMs,
		"cpu_time":                  perIterMs,
		"time_unit":                 "ms",
	}
	if s.errMessage != "" {
		e["error_occurred"] = true
		e["error_message"] = s.errMessage
		return e
	}
	if s.seconds > 0 {
		e["items_per_second"] = s.items / s.seconds
	}
	for k, v := range s.counters {
		e[k] = v
	}
	return e
}

func writeJSON(w io.Writer, ctx context, results []*state) {
	doc := map[string]any{"context": ctx.fields}
	list := make([]map[string]any, 0, len(results))
	for i, s := range results {
		list = append(list, entry(s, i))
	}
	doc["benchmarks"] = list
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		fmt.Fprintf(os.Stderr, "go_bench_macro: writing JSON: %v\n", err)
		os.Exit(1)
	}
}

func printConsoleHeader(ctx context) {
	fmt.Printf("go_bench_macro: %s, GOMAXPROCS=%s, %d CPUs\n", ctx.fields["go_version"],
		ctx.fields["go_workers"], ctx.fields["num_cpus"])
	fmt.Printf("%-48s %12s %16s  %s\n", "Benchmark", "Time", "items_per_second", "counters")
}

func printConsoleLine(s *state) {
	e := entry(s, 0)
	if s.errMessage != "" {
		fmt.Printf("%-48s ERROR OCCURRED: '%s'\n", e["name"], s.errMessage)
		return
	}
	keys := make([]string, 0, len(s.counters))
	for k := range s.counters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	counters := ""
	for _, k := range keys {
		counters += fmt.Sprintf(" %s=%g", k, s.counters[k])
	}
	fmt.Printf("%-48s %9.1f ms %15.4g/s %s\n", e["name"], e["real_time"], e["items_per_second"],
		counters)
}
