// BM_Chameneos (Go peer of bench/macro/chameneos.cpp) — Savina "chameneos": a mall goroutine
// and 100 chameneo goroutines with initial colours i % 3. Each chameneo sends the mall a meet
// {its colour, its channel}. The mall keeps the first of a pair waiting and forwards the
// second's meet to it; that one takes the complementary colour (complement), sends its
// partner a change {new colour} and goes back to the mall; the partner adopts the colour and
// goes back too. After 1,000,000 meetings the mall answers every meet with exit; each
// chameneo replies count {its meetings, its colour} and returns; the mall reports when it
// has all 100 counts, then returns. The chameneos start when the benchmark closes their
// start channel. Timed from that start to the report. items = meetings.
// Channel capacities make every send complete at once: each chameneo has at most one
// message in the mall's channel (100) and at most one waiting in its own (1).
// Verified: the mall arranged exactly 1,000,000 meetings; the chameneos' counts sum to
// 2,000,000; the final colours satisfy the game's invariant.
package main

import (
	"fmt"
	"sync"
	"time"
)

const chameneosCount = 100

type mallKind uint8

const (
	mallMeet mallKind = iota
	mallCount
)

type mallMsg struct {
	kind     mallKind
	colour   colour
	from     chan<- chameneoMsg // meet: the chameneo to pair
	meetings uint64             // count: the chameneo's meetings
}

type chameneoKind uint8

const (
	chameneoMeet chameneoKind = iota
	chameneoChange
	chameneoExit
)

type chameneoMsg struct {
	kind   chameneoKind
	colour colour
	from   chan<- chameneoMsg // meet: the partner
}

type chameneosResult struct {
	arranged, sumMeetings uint64
	colours               colourCounts
	coloured              uint32 // chameneos that reported a colour other than faded
}

func mall(in <-chan mallMsg, meetings uint64, chameneos uint32, done chan<- chameneosResult) {
	left := meetings
	var waiting chan<- chameneoMsg
	var r chameneosResult
	reported := uint32(0)
	for m := range in {
		switch m.kind {
		case mallMeet:
			switch {
			case left == 0:
				m.from <- chameneoMsg{kind: chameneoExit}
			case waiting == nil:
				waiting = m.from
			default:
				left--
				r.arranged++
				waiting <- chameneoMsg{kind: chameneoMeet, colour: m.colour, from: m.from}
				waiting = nil
			}
		case mallCount:
			r.sumMeetings += m.meetings
			if m.colour != faded {
				r.colours[m.colour]++
				r.coloured++
			}
			if reported++; reported == chameneos {
				done <- r
				return
			}
		}
	}
}

func chameneo(self chan chameneoMsg, toMall chan<- mallMsg, c colour, start <-chan struct{}) {
	meetings := uint64(0)
	<-start
	toMall <- mallMsg{kind: mallMeet, colour: c, from: self}
	for m := range self {
		switch m.kind {
		case chameneoMeet:
			c = complement(c, m.colour)
			meetings++
			m.from <- chameneoMsg{kind: chameneoChange, colour: c}
			toMall <- mallMsg{kind: mallMeet, colour: c, from: self}
		case chameneoChange:
			c = m.colour
			meetings++
			toMall <- mallMsg{kind: mallMeet, colour: c, from: self}
		case chameneoExit:
			toMall <- mallMsg{kind: mallCount, colour: c, meetings: meetings}
			return
		}
	}
}

func benchChameneos(s *state) {
	meetings := scaled(1_000_000)
	initial := initialColourCounts(chameneosCount)
	for it := 0; it < s.iterations; it++ {
		toMall := make(chan mallMsg, chameneosCount)
		start := make(chan struct{})
		done := make(chan chameneosResult, 1)
		var all sync.WaitGroup
		all.Add(1 + chameneosCount)
		go func() { defer all.Done(); mall(toMall, meetings, chameneosCount, done) }()
		for i := uint32(0); i < chameneosCount; i++ {
			go func(c colour) {
				defer all.Done()
				chameneo(make(chan chameneoMsg, 1), toMall, c, start)
			}(initialColour(i))
		}

		t0 := time.Now()
		close(start)
		r := await(s, done)
		s.addTime(time.Since(t0))

		all.Wait()
		if !s.check(r.arranged == meetings, fmt.Sprintf("BM_Chameneos: mall arranged %d "+
			"meetings, expected %d", r.arranged, meetings)) ||
			!s.check(r.sumMeetings == 2*meetings, fmt.Sprintf("BM_Chameneos: chameneos counted "+
				"%d meetings, expected %d", r.sumMeetings, 2*meetings)) ||
			!s.check(r.coloured == chameneosCount && coloursConsistent(initial, r.colours),
				fmt.Sprintf("BM_Chameneos: final colours %v violate the colour invariant",
					r.colours)) {
			return
		}
	}
	s.setItems(meetings)
	s.counters["meetings"] = float64(meetings)
	s.counters["chameneos"] = chameneosCount
}
