// BM_Skynet (Go peer of bench/macro/skynet.cpp) — the skynet tree, written as Go's
// well-known skynet program is: a goroutine per node. The root covers ordinals
// [0, 1,000,000); a node with a range of size > 1 starts 10 child goroutines on the 10
// tenths of its range, each given the node's reply channel (buffered for the 10 replies, so
// no child waits for its parent); a leaf sends its ordinal, a parent sums its 10 replies and
// sends the sum to its own parent; every goroutine returns after sending. Timed from starting
// the root to the root's result. items = goroutines (1,111,111 at scale 1). Verified: the
// root's sum is 499999500000 (n(n-1)/2), which needs every leaf's ordinal and every parent's
// sum; after the run, no goroutine of the tree is left.
package main

import (
	"fmt"
	"runtime"
	"time"
)

const skynetFanOut = 10

func skynetNode(parent chan<- uint64, first, size uint64) {
	if size == 1 {
		parent <- first
		return
	}
	replies := make(chan uint64, skynetFanOut)
	child := size / skynetFanOut
	for i := uint64(0); i < skynetFanOut; i++ {
		go skynetNode(replies, first+i*child, child)
	}
	var sum uint64
	for i := 0; i < skynetFanOut; i++ {
		sum += <-replies
	}
	parent <- sum
}

// skynetLeaves is the leaf count: 10^k, the largest not above the scaled 1,000,000.
func skynetLeaves() uint64 {
	want, leaves := scaled(1_000_000), uint64(1)
	for leaves*skynetFanOut <= want {
		leaves *= skynetFanOut
	}
	return leaves
}

func benchSkynet(s *state) {
	leaves := skynetLeaves()
	actors := (leaves*skynetFanOut - 1) / (skynetFanOut - 1)
	expected := leaves * (leaves - 1) / 2
	for it := 0; it < s.iterations; it++ {
		before := runtime.NumGoroutine()
		root := make(chan uint64, 1)

		t0 := time.Now()
		go skynetNode(root, 0, leaves)
		sum := await(s, root)
		s.addTime(time.Since(t0))

		if !s.check(sum == expected, fmt.Sprintf("BM_Skynet: sum %d, expected %d", sum, expected)) ||
			!s.check(goroutinesSettleTo(before), "BM_Skynet: goroutines still running after the run") {
			return
		}
	}
	s.setItems(actors)
	s.counters["actors"] = float64(actors)
}
