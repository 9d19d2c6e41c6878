package main

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestGCPercentFor(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, 100},       // no collection yet: Go's default, never "off"
		{2 * mib, 700}, // 2 MiB live: collect at 16 MiB
		{4 * mib, 300}, // 4 MiB live: collect at 16 MiB
		{8 * mib, 100}, // doubling reaches the floor: Go's default
		{500 * mib, 100},
	} {
		got := gcPercentFor(c.live, 16*mib)
		if got != c.want {
			t.Errorf("gcPercentFor(%d MiB) = %d, want %d", c.live/mib, got, c.want)
		}
		if goal := c.live * uint64(100+got) / 100; c.live > 0 && c.live < 8*mib && goal != 16*mib {
			t.Errorf("gcPercentFor(%d MiB) aims at %d MiB", c.live/mib, goal/mib)
		}
	}
}

func TestKeepHeapFloorTunesUnlessGOGCIsSet(t *testing.T) {
	done, cancel := context.WithCancel(t.Context())
	cancel() // one round, then return
	defer debug.SetGCPercent(debug.SetGCPercent(100))

	runtime.GC()
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	want := gcPercentFor(sample[0].Value.Uint64(), heapFloor)
	if want == 100 {
		t.Skipf("the test binary's live heap (%d bytes) is past the floor", sample[0].Value.Uint64())
	}
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(100)
		keepHeapFloor(done, time.Hour)
		if got := debug.SetGCPercent(100); got != want {
			t.Errorf("GOGC after tuning = %d, want %d", got, want)
		}
	}

	t.Setenv("GOGC", "123")
	debug.SetGCPercent(123)
	keepHeapFloor(done, time.Hour)
	if got := debug.SetGCPercent(100); got != 123 {
		t.Errorf("the operator's GOGC 123 became %d", got)
	}
}
