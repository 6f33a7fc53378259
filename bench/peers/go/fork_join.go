// BM_ForkJoinThroughput (Go peer of bench/macro/fork_join.cpp; Savina "fjthrput") — 60
// worker goroutines; the benchmark goroutine, as Savina's driver does, sends 6,000,000
// messages round-robin (100,000 per worker) into their channels (1,024 messages each), each
// causing Savina's tiny computation sin(37.2)^2 (forkJoinWork). A worker marks the join
// point when it has handled its 100,000th message; the run ends when all 60 have. Timed from
// the first send to the join. items = messages. Verified: every worker handled exactly its
// share and every computation's result was positive (Savina's check).
package main

import (
	"fmt"
	"sync"
	"time"
)

const (
	forkJoinWorkers = 60
	forkJoinBuffer  = 1024
)

type forkJoinCount struct {
	handled, nonPositive uint64
}

func benchForkJoinThroughput(s *state) {
	perWorker := scaled(6_000_000) / forkJoinWorkers
	total := perWorker * forkJoinWorkers
	for it := 0; it < s.iterations; it++ {
		inboxes := make([]chan struct{}, forkJoinWorkers)
		counts := make([]forkJoinCount, forkJoinWorkers)
		var join, exited sync.WaitGroup
		join.Add(forkJoinWorkers)
		exited.Add(forkJoinWorkers)
		for i := range inboxes {
			inboxes[i] = make(chan struct{}, forkJoinBuffer)
			go func(in <-chan struct{}, c *forkJoinCount, theta float64) {
				defer exited.Done()
				for range in {
					if forkJoinWork(theta) <= 0 {
						c.nonPositive++
					}
					if c.handled++; c.handled == perWorker {
						join.Done()
					}
				}
			}(inboxes[i], &counts[i], forkJoinTheta)
		}
		joined := make(chan struct{})
		go func() { join.Wait(); close(joined) }()

		t0 := time.Now()
		for m := uint64(0); m < perWorker; m++ {
			for _, in := range inboxes {
				in <- struct{}{}
			}
		}
		await(s, joined)
		s.addTime(time.Since(t0))

		for _, in := range inboxes {
			close(in)
		}
		exited.Wait() // orders the workers' counts before the reads below
		wrong, bad := 0, 0
		for _, c := range counts {
			if c.handled != perWorker {
				wrong++
			}
			if c.nonPositive != 0 {
				bad++
			}
		}
		if !s.check(wrong == 0, fmt.Sprintf("BM_ForkJoinThroughput: %d workers handled a "+
			"count other than %d", wrong, perWorker)) ||
			!s.check(bad == 0, "BM_ForkJoinThroughput: a computation returned a non-positive result") {
			return
		}
	}
	s.setItems(total)
	s.counters["messages"] = float64(total)
}
