package actors

import (
	"fmt"
	"testing"
)

// The filter never forgets a number, however far it grows past its first
// size, and keeps false positives near its rate.
func TestPhoneFilterGrowsWithoutForgetting(t *testing.T) {
	pf := &phoneFilter{}
	pf.grow(1000)
	const n = 50_000
	for i := 0; i < n; i++ {
		pf.add(fmt.Sprintf("dup/+1415%07d", i))
	}
	if len(pf.layers) < 3 {
		t.Fatalf("%d layers for %d numbers from a first layer of 1000", len(pf.layers), n)
	}
	for i := 0; i < n; i++ {
		if !pf.mayHave(fmt.Sprintf("dup/+1415%07d", i)) {
			t.Fatalf("number %d forgotten", i)
		}
	}
	fp := 0
	for i := 0; i < n; i++ {
		if pf.mayHave(fmt.Sprintf("dup/+1212%07d", i)) {
			fp++
		}
	}
	if rate := float64(fp) / n; rate > 4*phoneFilterFP*float64(len(pf.layers)) {
		t.Fatalf("false positive rate %.4f with %d layers", rate, len(pf.layers))
	}
}
