// BM_Big (Go peer of bench/macro/big.cpp) — Savina "big" with its defaults: 120 goroutines,
// 20,000 pings each. The benchmark kicks each with a pong from nobody; on each pong a
// goroutine checks it came from the one it pinged last, then (until it has sent its 20,000
// pings) sends a ping {itself} to a target drawn by its own seeded generator (pingTargets,
// the same sequence as troupe's and CAF's). A ping is answered with a pong {itself} to the
// pinger. A goroutine that has had its last pong reports done {pings sent, wrong pongs} to a
// sink; when the sink has all 120 it sends each exit, each replies final {pings received}
// and returns, and the sink reports. Timed from the first kick to that report.
// items = messages = pings + pongs = 4,800,000.
// Channel capacities make every send complete at once (two goroutines pinging each other
// would otherwise wait for each other forever): a goroutine's channel holds at most one
// ping from each goroutine (each has one ping outstanding), a pong and an exit (256 ≥ 122);
// the sink's holds the 240 reports.
// Verified: every goroutine sent 20,000 pings and got every pong from the one it pinged;
// each received exactly the pings the generator replay (expectedPingsReceived) says.
package main

import (
	"fmt"
	"sync"
	"time"
)

const (
	bigActors = 120
	bigInbox  = 256
	bigNobody = ^uint32(0)
)

type bigKind uint8

const (
	bigPing bigKind = iota
	bigPong
	bigExit
)

type bigMsg struct {
	kind   bigKind
	sender uint32
}

type sinkMsg struct {
	final bool // false: done {sent, wrong}; true: final {received}
	id    uint32
	sent  uint64
	wrong uint64
	recvd uint64
}

type bigReport struct {
	pingsSent, pingsReceived []uint64
	wrongPongs               uint64
}

func bigSink(in <-chan sinkMsg, actors []chan bigMsg, done chan<- bigReport) {
	r := bigReport{make([]uint64, len(actors)), make([]uint64, len(actors)), 0}
	doneCount, finalCount := 0, 0
	for m := range in {
		if !m.final {
			r.pingsSent[m.id] = m.sent
			r.wrongPongs += m.wrong
			if doneCount++; doneCount == len(actors) {
				for _, a := range actors {
					a <- bigMsg{kind: bigExit}
				}
			}
		} else {
			r.pingsReceived[m.id] = m.recvd
			if finalCount++; finalCount == len(actors) {
				done <- r
				return
			}
		}
	}
}

func bigActor(id uint32, pings uint64, actors []chan bigMsg, sink chan<- sinkMsg) {
	targets := newPingTargets(bigSeed, id)
	expected := bigNobody // the kick's pong comes from nobody
	var sent, received, wrong uint64
	for m := range actors[id] {
		switch m.kind {
		case bigPing:
			received++
			actors[m.sender] <- bigMsg{kind: bigPong, sender: id}
		case bigPong:
			if m.sender != expected {
				wrong++
			}
			if sent == pings {
				sink <- sinkMsg{id: id, sent: sent, wrong: wrong}
				continue
			}
			expected = targets.next(uint32(len(actors)))
			sent++
			actors[expected] <- bigMsg{kind: bigPing, sender: id}
		case bigExit:
			sink <- sinkMsg{final: true, id: id, recvd: received}
			return
		}
	}
}

func benchBig(s *state) {
	pings := scaled(20_000)
	messages := 2 * bigActors * pings
	expectedReceived := expectedPingsReceived(bigSeed, bigActors, pings)
	for it := 0; it < s.iterations; it++ {
		actors := make([]chan bigMsg, bigActors)
		for i := range actors {
			actors[i] = make(chan bigMsg, bigInbox)
		}
		sink := make(chan sinkMsg, 2*bigActors)
		done := make(chan bigReport, 1)
		var all sync.WaitGroup
		all.Add(1 + bigActors)
		go func() { defer all.Done(); bigSink(sink, actors, done) }()
		for i := uint32(0); i < bigActors; i++ {
			go func(id uint32) { defer all.Done(); bigActor(id, pings, actors, sink) }(i)
		}

		t0 := time.Now()
		for _, a := range actors {
			a <- bigMsg{kind: bigPong, sender: bigNobody}
		}
		r := await(s, done)
		s.addTime(time.Since(t0))

		all.Wait()
		wrongSent, wrongReceived := 0, 0
		for i := 0; i < bigActors; i++ {
			if r.pingsSent[i] != pings {
				wrongSent++
			}
			if r.pingsReceived[i] != expectedReceived[i] {
				wrongReceived++
			}
		}
		if !s.check(wrongSent == 0, fmt.Sprintf("BM_Big: %d goroutines did not send %d pings",
			wrongSent, pings)) ||
			!s.check(r.wrongPongs == 0, fmt.Sprintf("BM_Big: %d pongs came from a goroutine "+
				"other than the one pinged", r.wrongPongs)) ||
			!s.check(wrongReceived == 0, fmt.Sprintf("BM_Big: %d goroutines received a number "+
				"of pings other than the replay's", wrongReceived)) {
			return
		}
	}
	s.setItems(messages)
	s.counters["messages"] = float64(messages)
	s.counters["seed"] = float64(bigSeed)
}
