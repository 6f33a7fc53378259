// BM_FanIn (Go peer of bench/macro/fan_in.cpp) — 2 producer goroutines each send 10,000,000
// small messages {producer, seq} to one counter goroutine's channel, each producer in one
// loop, as Go producers are written. The channel holds 1,024 messages, so a producer runs
// ahead of the counter by up to that many. The producers start when the benchmark closes
// their start channel. items = messages counted. Verified: the counter sees exactly
// 20,000,000 messages, their sequence numbers sum to the expected total, and each producer's
// messages arrive in send order.
package main

import (
	"fmt"
	"sync"
	"time"
)

const (
	fanInProducers = 2
	fanInBuffer    = 1024
)

type fanInAdd struct {
	producer uint32
	seq      uint32
}

type fanInTally struct {
	count, sum, outOfOrder uint64
}

func benchFanIn(s *state) {
	perProducer := scaled(10_000_000)
	total := fanInProducers * perProducer
	expectedSum := fanInProducers * (perProducer * (perProducer + 1) / 2)
	for it := 0; it < s.iterations; it++ {
		in := make(chan fanInAdd, fanInBuffer)
		start := make(chan struct{})
		done := make(chan fanInTally, 1)
		var all sync.WaitGroup
		all.Add(1 + fanInProducers)
		go func() { // the counter
			defer all.Done()
			var t fanInTally
			var nextSeq [fanInProducers]uint32
			for m := range in {
				nextSeq[m.producer]++
				if m.seq != nextSeq[m.producer] {
					t.outOfOrder++
				}
				t.sum += uint64(m.seq)
				if t.count++; t.count == total {
					done <- t
				}
			}
		}()
		for p := uint32(0); p < fanInProducers; p++ {
			go func(id uint32) {
				defer all.Done()
				<-start
				for seq := uint32(1); uint64(seq) <= perProducer; seq++ {
					in <- fanInAdd{id, seq}
				}
			}(p)
		}

		t0 := time.Now()
		close(start)
		t := await(s, done)
		s.addTime(time.Since(t0))

		close(in) // every producer has sent its share: the counter counted all of it
		all.Wait()
		if !s.check(t.count == total, "BM_FanIn: wrong message count") ||
			!s.check(t.sum == expectedSum, "BM_FanIn: wrong sum of sequence numbers") ||
			!s.check(t.outOfOrder == 0,
				fmt.Sprintf("BM_FanIn: %d messages out of per-sender order", t.outOfOrder)) {
			return
		}
	}
	s.setItems(total)
	s.counters["messages"] = float64(total)
}
