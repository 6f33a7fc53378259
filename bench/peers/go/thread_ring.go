// BM_ThreadRing (Go peer of bench/macro/thread_ring.cpp) — 1,000 goroutines in a ring pass
// one token 10,000,000 hops (Savina "threadring"). The benchmark goroutine gives 10,000,000
// to goroutine 0; each passes n - 1 to its successor's channel until n == 0, whose holder
// reports its position. Unbuffered channels: one token in flight, handed to a goroutine
// waiting in receive. items = hops. Verified: the token stops at goroutine
// 10,000,000 mod 1,000 = 0.
package main

import (
	"fmt"
	"sync"
	"time"
)

const ringSize = 1000

func benchThreadRing(s *state) {
	hops := scaled(10_000_000)
	for it := 0; it < s.iterations; it++ {
		ring := make([]chan uint64, ringSize)
		for i := range ring {
			ring[i] = make(chan uint64)
		}
		done := make(chan int, 1)
		var nodes sync.WaitGroup
		nodes.Add(ringSize)
		for i := range ring {
			go func(index int, in <-chan uint64, next chan<- uint64) {
				defer nodes.Done()
				for left := range in {
					if left == 0 {
						done <- index
					} else {
						next <- left - 1
					}
				}
			}(i, ring[i], ring[(i+1)%ringSize])
		}

		t0 := time.Now()
		ring[0] <- hops
		last := await(s, done)
		s.addTime(time.Since(t0))

		for _, c := range ring {
			close(c)
		}
		nodes.Wait()
		want := int(hops % ringSize)
		if !s.check(last == want,
			fmt.Sprintf("BM_ThreadRing: token stopped at %d, expected %d", last, want)) {
			return
		}
	}
	s.setItems(hops)
	s.counters["hops"] = float64(hops)
}
