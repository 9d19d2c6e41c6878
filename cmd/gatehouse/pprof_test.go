package main

import (
	"net/http"
	"testing"
)

func TestProfilerOnLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:6060", "example.com:6060", "127.0.0.1"} {
		if closeIt, _, err := startPprof(addr); err == nil {
			closeIt()
			t.Errorf("--pprof-addr %s was accepted", addr)
		}
	}
	closeIt, bound, err := startPprof("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer closeIt()
	resp, err := http.Get("http://" + bound + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the profiler's index answered %d", resp.StatusCode)
	}
}
