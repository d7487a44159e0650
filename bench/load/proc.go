package load

import (
	"bytes"
	"fmt"
	"os"
	"strconv"

	"github.com/dialerd/dialerd"
)

// userHZ is the unit of /proc/PID/stat's CPU times. It is 100 on every
// Linux architecture Go supports (the kernel's USER_HZ, not its HZ).
const userHZ = 100

// ProcSampler returns a Config.Sample for process pid on Linux: CPU (user
// + system) as a percentage of one core since the previous sample (the
// first since ProcSampler was called), and resident memory. A sample that
// cannot be read (the process died) carries the error instead.
func ProcSampler(pid int) func() Sample {
	last, _ := procCPUTicks(pid)
	lastAt := dialerd.Stopwatch()
	return func() Sample {
		ticks, err := procCPUTicks(pid)
		now := dialerd.Stopwatch()
		if err != nil {
			return Sample{Err: err.Error()}
		}
		rss, err := procRSSKB(pid)
		if err != nil {
			return Sample{Err: err.Error()}
		}
		s := Sample{RSSKB: rss}
		if d := now.Sub(lastAt); d > 0 {
			s.CPUPercent = float64(ticks-last) / userHZ / d.Seconds() * 100
		}
		last, lastAt = ticks, now
		return s
	}
}

func procCPUTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces and parentheses: the
	// fields that follow start after its last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no ')'", pid)
	}
	f := bytes.Fields(b[i+1:])
	// utime and stime are fields 14 and 15; f[0] is field 3.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	u, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	s, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime", pid)
	}
	return u + s, nil
}

func procRSSKB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(l, []byte("VmRSS:")); ok {
			f := bytes.Fields(v)
			if len(f) == 0 {
				break
			}
			return strconv.ParseInt(string(f[0]), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
}

// SumSamplers adds up the samples of several processes (the nodes of a
// cluster): CPU in percent of one core and resident memory are summed. A
// sample any of them could not take carries its error.
func SumSamplers(fs ...func() Sample) func() Sample {
	return func() Sample {
		var sum Sample
		for _, f := range fs {
			s := f()
			if s.Err != "" {
				return s
			}
			sum.CPUPercent += s.CPUPercent
			sum.RSSKB += s.RSSKB
		}
		return sum
	}
}

// TreeSampler is ProcSampler for the processes roots and every process
// under them — a PostgreSQL server and its backends — summed. Memory is
// each process's private and file-backed resident memory plus the largest
// shared resident memory once: backends map the same shared buffers, which
// VmRSS would count once per backend. A process born since the previous
// sample counts all its CPU; one gone since is no longer counted.
func TreeSampler(roots ...int) func() Sample {
	last := map[int]int64{}
	for _, pid := range descendants(roots) {
		if t, err := procCPUTicks(pid); err == nil {
			last[pid] = t
		}
	}
	lastAt := dialerd.Stopwatch()
	return func() Sample {
		now := dialerd.Stopwatch()
		var s Sample
		var ticks, shmem int64
		seen := map[int]int64{}
		for _, pid := range descendants(roots) {
			t, err := procCPUTicks(pid)
			if err != nil {
				continue // exited meanwhile
			}
			seen[pid] = t
			ticks += t - last[pid]
			anon, file, sh, err := procMemKB(pid)
			if err != nil {
				continue
			}
			s.RSSKB += anon + file
			shmem = max(shmem, sh)
		}
		if len(seen) == 0 {
			return Sample{Err: fmt.Sprintf("no process left of %v", roots)}
		}
		s.RSSKB += shmem
		if d := now.Sub(lastAt); d > 0 {
			s.CPUPercent = float64(ticks) / userHZ / d.Seconds() * 100
		}
		last, lastAt = seen, now
		return s
	}
}

// descendants lists roots and every process under them, from /proc.
func descendants(roots []int) []int {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := bytes.Fields(b[i+1:])
		if len(f) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(string(f[1])); err == nil {
			children[ppid] = append(children[ppid], pid)
		}
	}
	out := append([]int(nil), roots...)
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// procMemKB reads a process's resident memory by kind: anonymous, file
// backed and shared (RssAnon, RssFile, RssShmem).
func procMemKB(pid int) (anon, file, shmem int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	for _, l := range bytes.Split(b, []byte("\n")) {
		for name, dst := range map[string]*int64{"RssAnon:": &anon, "RssFile:": &file, "RssShmem:": &shmem} {
			if v, ok := bytes.CutPrefix(l, []byte(name)); ok {
				if f := bytes.Fields(v); len(f) > 0 {
					*dst, _ = strconv.ParseInt(string(f[0]), 10, 64)
				}
			}
		}
	}
	return anon, file, shmem, nil
}
