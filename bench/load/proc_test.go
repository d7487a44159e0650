package load

import (
	"fmt"
	"os/exec"
	"testing"
	"time"
)

// A shell whose child spins: the tree's CPU is the child's, which the
// parent's own sampler does not see.
func TestTreeSampler(t *testing.T) {
	cmd := exec.Command("sh", "-c", `sh -c 'while :; do :; done' & wait`)
	if err := cmd.Start(); err != nil {
		t.Skip("no sh:", err)
	}
	defer func() {
		for _, pid := range descendants([]int{cmd.Process.Pid})[1:] {
			exec.Command("kill", "-9", itoa(pid)).Run()
		}
		cmd.Process.Kill()
		cmd.Wait()
	}()
	deadline := time.Now().Add(5 * time.Second)
	for len(descendants([]int{cmd.Process.Pid})) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the child never appeared under the shell")
		}
		time.Sleep(10 * time.Millisecond)
	}
	tree, own := TreeSampler(cmd.Process.Pid), ProcSampler(cmd.Process.Pid)
	time.Sleep(500 * time.Millisecond)
	ts, os := tree(), own()
	if ts.Err != "" || os.Err != "" {
		t.Fatalf("samples: %+v %+v", ts, os)
	}
	if ts.CPUPercent < 30 {
		t.Errorf("tree CPU %.0f %%, want the spinning child's (≥ 30 %%)", ts.CPUPercent)
	}
	if os.CPUPercent > 20 {
		t.Errorf("the waiting shell alone used %.0f %%", os.CPUPercent)
	}
	if ts.RSSKB <= 0 {
		t.Errorf("tree RSS %d kB", ts.RSSKB)
	}
}

func itoa(n int) string { return fmt.Sprint(n) }
