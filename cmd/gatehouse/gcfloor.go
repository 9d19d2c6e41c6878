package main

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// heapFloor is the smallest heap a serving node lets the garbage collector
// aim for. A node's live heap is a few megabytes, so Go's default (collect
// when the heap doubles) collected 75 times a second under token load, a
// large share of a core's time. At 16 MiB an ES256 token cost about 15 %
// less CPU; at 64 MiB the collector's share of a token's CPU fell again
// from about 8 % to 2 % (profiles in docs/benchmarks.md), for about 45 MB
// more resident memory. Past 32 MiB live the default applies; an operator's
// GOGC or GOMEMLIMIT still rules.
const heapFloor = 64 << 20

// gcPercentFor is the GOGC that puts the next collection at floor when the
// live heap is small, and Go's default 100 once doubling the live heap
// reaches floor anyway. The collector aims at live × (1 + GOGC/100). Before
// the first collection nothing is known to be live (live is 0), and the
// default stands: a percentage computed from nothing would switch the
// collector off, and no collection would come to correct it.
func gcPercentFor(live, floor uint64) int {
	if live == 0 || live >= floor/2 {
		return 100
	}
	return int((floor - live) * 100 / live)
}

// keepHeapFloor retunes the collector every interval until ctx ends, unless
// the operator chose GOGC, which then stands.
func keepHeapFloor(ctx context.Context, interval time.Duration) {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	t := time.NewTicker(interval)
	defer t.Stop()
	last := -1
	for {
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			if p := gcPercentFor(sample[0].Value.Uint64(), heapFloor); p != last {
				debug.SetGCPercent(p)
				last = p
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
