package xtap

import (
	"sync"
	"testing"
)

func TestConcurrentExplain(t *testing.T) {
	w := newWorld(SystemDefault(), nil, mustDefault(t, `{"b2bCollaborationInbound":`+blockAll+`}`), nil)
	want := Evaluate(w.input(B2BCollaboration, u1, a1)).Layers()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				got := Evaluate(w.input(B2BCollaboration, u1, a1)).Layers()
				for j := range got {
					if got[j] != want[j] {
						t.Errorf("concurrent explanation differs: %+v", got[j])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}
