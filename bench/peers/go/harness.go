// The harness every Go peer benchmark uses, the counterpart of bench/harness.hpp: the
// options, the workload sizes, the result checks, the wait for a result with the hang
// timeout, and the peak-RSS reading BM_Spawn reports.
package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// options are the benchmark options shared with troupe_bench_macro and caf_bench_macro.
type options struct {
	workers int           // GOMAXPROCS; 0 = one per hardware thread
	scale   float64       // multiplies every workload size; profiling only
	timeout time.Duration // how long one iteration may take before the run is aborted as hung
}

var opts = options{scale: 1, timeout: 120 * time.Second}

// workers is the GOMAXPROCS every benchmark runs with: --workers, or one per hardware thread.
func workers() int {
	if opts.workers != 0 {
		return opts.workers
	}
	return runtime.NumCPU()
}

// scaled is a workload size from troupe's macro benchmarks, times --scale (at least 1),
// rounded as bench/harness.hpp rounds it.
func scaled(n uint64) uint64 {
	s := math.Round(float64(n) * opts.scale)
	if s < 1 {
		return 1
	}
	return uint64(s)
}

// state is one benchmark's run: its iterations, the manual time they took, what they
// processed, its counters, and the first wrong result if any.
type state struct {
	name       string
	iterations int
	seconds    float64 // sum of the iterations' manual times
	items      float64
	counters   map[string]float64
	errMessage string
}

// addTime records one iteration's manual time: the span the benchmark measures.
func (s *state) addTime(d time.Duration) { s.seconds += d.Seconds() }

// check fails the benchmark (and the run: the exit status becomes nonzero) when ok is false.
// Returns ok; on false the caller must leave its loop.
func (s *state) check(ok bool, what string) bool {
	if ok {
		return true
	}
	fmt.Fprintf(os.Stderr, "bench: WRONG RESULT: %s\n", what)
	if s.errMessage == "" {
		s.errMessage = what
	}
	return false
}

// setItems records the items every iteration processed (messages, hops, actors, meetings).
func (s *state) setItems(perIteration uint64) {
	s.items = float64(perIteration) * float64(s.iterations)
}

// await takes the result an iteration's final goroutine sends on ch; if none comes within
// --timeout, the program hung (a deadlock), and the run is aborted with a message.
func await[T any](s *state, ch <-chan T) T {
	timer := time.NewTimer(opts.timeout)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		fmt.Fprintf(os.Stderr, "bench: %s did not complete within %v: hung (deadlock?). "+
			"Aborting the run.\n", s.name, opts.timeout)
		os.Exit(134)
	}
	panic("unreachable")
}

// goroutinesSettleTo waits (outside the timed part) until at most `want` goroutines exist:
// goroutines that have sent their last message still have to return. False after --timeout.
func goroutinesSettleTo(want int) bool {
	deadline := time.Now().Add(opts.timeout)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// procStatusBytes is a field of /proc/self/status in bytes ("VmHWM", "VmRSS"); 0 if
// unavailable.
func procStatusBytes(field string) uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, field+":") {
			fields := strings.Fields(line[len(field)+1:])
			if len(fields) == 0 {
				return 0
			}
			kb, err := strconv.ParseUint(fields[0], 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024 // reported in kB
		}
	}
	return 0
}

// resetPeakRSS returns freed heap memory to the OS (a full collection first, as
// malloc_trim does for the C++ programs) and resets the peak-RSS mark VmHWM to the current
// RSS (writing 5 to /proc/self/clear_refs), so that the next VmHWM reading measures the
// growth caused by what runs in between. Returns the RSS it reset to, in bytes.
func resetPeakRSS() uint64 {
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	return procStatusBytes("VmRSS")
}
