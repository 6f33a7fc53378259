// The runtime-independent parts of the Savina workloads, exactly as bench/savina.hpp has
// them for troupe and CAF, so that the Go peers do the same work: fork-join's tiny
// computation, the chameneos colour rules and their invariant, and big's seeded random
// choice of ping targets.
package main

import "math"

// forkJoinWork is Savina's performComputation(theta): sin(theta)^2.
func forkJoinWork(theta float64) float64 {
	s := math.Sin(theta)
	return s * s
}

const forkJoinTheta = 37.2

type colour uint8

const (
	red colour = iota
	yellow
	blue
	faded
)

// complement: two different colours give the third, equal colours stay, faded stays faded.
func complement(a, b colour) colour {
	if a == faded || b == faded {
		return faded
	}
	if a == b {
		return a
	}
	return colour(3 - int(a) - int(b))
}

func initialColour(i uint32) colour { return colour(i % 3) }

type colourCounts [3]uint64

func initialColourCounts(chameneos uint32) colourCounts {
	var c colourCounts
	for i := uint32(0); i < chameneos; i++ {
		c[initialColour(i)]++
	}
	return c
}

// coloursConsistent: the counts' pairwise differences mod 3 never change, and no chameneo
// is lost.
func coloursConsistent(initial, final colourCounts) bool {
	mod3 := func(a, b uint64) uint64 { return ((a % 3) + 3 - (b % 3)) % 3 }
	return initial[0]+initial[1]+initial[2] == final[0]+final[1]+final[2] &&
		mod3(initial[0], initial[1]) == mod3(final[0], final[1]) &&
		mod3(initial[1], initial[2]) == mod3(final[1], final[2])
}

// bigSeed: the seed every random choice of BM_Big derives from.
const bigSeed uint64 = 20140101

// pingTargets is one actor's generator of ping targets: splitmix64 seeded from bigSeed and
// the actor's index, the same sequence as savina::ping_targets.
type pingTargets struct{ s uint64 }

func newPingTargets(seed uint64, actor uint32) pingTargets {
	return pingTargets{seed ^ (0x9e3779b97f4a7c15 * (uint64(actor) + 1))}
}

func (t *pingTargets) next(actors uint32) uint32 {
	t.s += 0x9e3779b97f4a7c15
	z := t.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return uint32(((z >> 32) * uint64(actors)) >> 32)
}

// expectedPingsReceived replays every actor's generator: how many pings each receives.
func expectedPingsReceived(seed uint64, actors uint32, pings uint64) []uint64 {
	received := make([]uint64, actors)
	for a := uint32(0); a < actors; a++ {
		t := newPingTargets(seed, a)
		for i := uint64(0); i < pings; i++ {
			received[t.next(actors)]++
		}
	}
	return received
}
