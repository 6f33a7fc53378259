// BM_Spawn (Go peer of bench/macro/spawn.cpp) — the cost of an actor, in time and memory.
//
// Workload (all timed, per iteration): start 1,000,000 idle goroutines, each waiting on its
// own channel (capacity 1, so the send below does not wait for the goroutine to run), send
// each one message; then close every channel, which ends each goroutine's receive loop, and
// wait for all of them to return. items = goroutines. The benchmark keeps the channels in a
// slice (8 bytes per actor, counted in bytes_per_actor), as the CAF peer keeps its handles.
// bytes_per_actor = (peak RSS during the iteration − RSS before it) / actors, read from
// VmHWM as the C++ programs do; before each iteration a full collection returns the freed
// heap to the OS (debug.FreeOSMemory, the counterpart of malloc_trim). The Go runtime keeps
// the descriptors of exited goroutines for reuse, so the iterations after the first start
// with some of that memory already in RSS; the figure is the mean over the iterations, as
// for troupe and CAF.
// Verified: 1,000,000 more goroutines exist after the spawns, every one handled its message
// (a byte per goroutine, written by it and read after it returned), and none is left after
// shutdown.
package main

import (
	"fmt"
	"runtime"
	"sync"
	"time"
)

func benchSpawn(s *state) {
	actors := scaled(1_000_000)
	bytesPerActorSum := 0.0
	for it := 0; it < s.iterations; it++ {
		handled := make([]uint8, actors)
		before := runtime.NumGoroutine()
		rssBefore := resetPeakRSS()
		runningAfterSpawn := 0

		t0 := time.Now()
		{
			var idle sync.WaitGroup
			idle.Add(int(actors))
			keep := make([]chan struct{}, actors)
			for i := range keep {
				inbox := make(chan struct{}, 1)
				keep[i] = inbox
				go func(i int) {
					defer idle.Done()
					for range inbox {
						handled[i]++
					}
				}(i)
				inbox <- struct{}{}
			}
			runningAfterSpawn = runtime.NumGoroutine() - before
			for _, inbox := range keep {
				close(inbox)
			}
			keep = nil
			idle.Wait()
		}
		s.addTime(time.Since(t0))

		peak := procStatusBytes("VmHWM")
		if peak > rssBefore {
			bytesPerActorSum += float64(peak-rssBefore) / float64(actors)
		}
		var handledCount uint64
		for _, h := range handled {
			handledCount += uint64(h)
		}
		if !s.check(peak != 0 && rssBefore != 0,
			"BM_Spawn: cannot read VmHWM/VmRSS from /proc/self/status") ||
			!s.check(uint64(runningAfterSpawn) == actors && goroutinesSettleTo(before),
				fmt.Sprintf("BM_Spawn: %d goroutines running after spawning, %d left after "+
					"shutdown, expected %d and 0", runningAfterSpawn,
					runtime.NumGoroutine()-before, actors)) ||
			!s.check(handledCount == actors,
				fmt.Sprintf("BM_Spawn: handled %d, expected %d", handledCount, actors)) {
			return
		}
	}
	s.setItems(actors)
	s.counters["actors"] = float64(actors)
	s.counters["bytes_per_actor"] = bytesPerActorSum / float64(s.iterations)
}
