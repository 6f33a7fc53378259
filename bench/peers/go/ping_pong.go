// BM_PingPong (Go peer of bench/macro/ping_pong.cpp) — two goroutines bounce one message
// 2,000,000 times, exactly one in flight. The benchmark goroutine serves 2,000,000 into the
// first player's channel; each player passes n - 1 to the other until n == 1, which it
// reports on the done channel. The channels are unbuffered: with one ball in flight, each
// pass hands it straight to a player waiting in receive. Timed from the serve to the
// report. items = messages handled. Verified: the last ball arrives (which takes every one
// of the 2,000,000 passes in turn).
package main

import (
	"sync"
	"time"
)

func benchPingPong(s *state) {
	messages := scaled(2_000_000)
	for it := 0; it < s.iterations; it++ {
		a, b := make(chan uint64), make(chan uint64)
		done := make(chan uint64, 1)
		var players sync.WaitGroup
		player := func(in <-chan uint64, peer chan<- uint64) {
			defer players.Done()
			for left := range in {
				if left == 1 {
					done <- left
				} else {
					peer <- left - 1
				}
			}
		}
		players.Add(2)
		go player(a, b)
		go player(b, a)

		t0 := time.Now()
		a <- messages
		last := await(s, done)
		s.addTime(time.Since(t0))

		close(a)
		close(b)
		players.Wait()
		if !s.check(last == 1, "BM_PingPong: the rally ended early") {
			return
		}
	}
	s.setItems(messages)
	s.counters["messages"] = float64(messages)
}
