package persistence_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/persistence"
)

func storeLogs(tb testing.TB, rs *persistence.RaftStore, logs ...*raft.Log) {
	tb.Helper()
	if err := rs.StoreLogs(logs); err != nil {
		tb.Fatalf("StoreLogs: %v", err)
	}
}

func cmdLog(index uint64) *raft.Log {
	return &raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: fmt.Appendf(nil, "cmd-%d", index)}
}

func indexes(tb testing.TB, rs *persistence.RaftStore) (first, last uint64) {
	tb.Helper()
	first, err := rs.FirstIndex()
	if err != nil {
		tb.Fatalf("FirstIndex: %v", err)
	}
	last, err = rs.LastIndex()
	if err != nil {
		tb.Fatalf("LastIndex: %v", err)
	}
	return first, last
}

func getLog(tb testing.TB, rs *persistence.RaftStore, index uint64) raft.Log {
	tb.Helper()
	var l raft.Log
	if err := rs.GetLog(index, &l); err != nil {
		tb.Fatalf("GetLog(%d): %v", index, err)
	}
	return l
}

// sameLog compares every field of two logs, nil-ness of Data and
// Extensions included, and AppendedAt as an instant.
func sameLog(a, b raft.Log) error {
	switch {
	case a.Index != b.Index || a.Term != b.Term || a.Type != b.Type:
		return fmt.Errorf("index/term/type %d/%d/%v, want %d/%d/%v", a.Index, a.Term, a.Type, b.Index, b.Term, b.Type)
	case !bytes.Equal(a.Data, b.Data) || (a.Data == nil) != (b.Data == nil):
		return fmt.Errorf("Data %q (nil %v), want %q (nil %v)", a.Data, a.Data == nil, b.Data, b.Data == nil)
	case !bytes.Equal(a.Extensions, b.Extensions) || (a.Extensions == nil) != (b.Extensions == nil):
		return fmt.Errorf("Extensions %q (nil %v), want %q (nil %v)", a.Extensions, a.Extensions == nil, b.Extensions, b.Extensions == nil)
	case !a.AppendedAt.Equal(b.AppendedAt) || a.AppendedAt.IsZero() != b.AppendedAt.IsZero():
		return fmt.Errorf("AppendedAt %v, want %v", a.AppendedAt, b.AppendedAt)
	}
	return nil
}

func roundTripLogs() []*raft.Log {
	big := bytes.Repeat([]byte{0xAB}, 1<<20)
	return []*raft.Log{
		{Index: 1, Term: 1, Type: raft.LogConfiguration, Data: []byte("config"), Extensions: []byte("ext"), AppendedAt: time.Now()},
		{Index: 2, Term: 1, Type: raft.LogNoop},
		{Index: 3, Term: 2, Type: raft.LogCommand, Data: []byte{}, Extensions: []byte{}, AppendedAt: time.Unix(0, 0)},
		{Index: 4, Term: 2, Type: raft.LogBarrier, Data: []byte("\x00\xff\x00"), AppendedAt: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)},
		{Index: 5, Term: 3, Type: raft.LogType(255), Extensions: []byte("only ext"), AppendedAt: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		{Index: 6, Term: 3, Type: raft.LogCommand, Data: big, AppendedAt: time.Date(1969, 7, 20, 20, 17, 40, 123456789, time.FixedZone("x", 3600))},
		{Index: 1 << 40, Term: math.MaxUint64, Type: raft.LogCommand, Data: []byte("far")},
		{Index: math.MaxUint64, Term: math.MaxUint64, Type: raft.LogCommand, Data: []byte("last")},
	}
}

// Every field of raft.Log survives StoreLog/StoreLogs and GetLog, in
// memory and across a reopen; GetLog hands out copies.
func TestRaftLogRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := persistence.MustOpen(t, persistence.Options{Dir: dir})
	rs := s.Raft()
	logs := roundTripLogs()
	if err := rs.StoreLog(logs[0]); err != nil {
		t.Fatal(err)
	}
	storeLogs(t, rs, logs[1:]...)
	check := func(rs *persistence.RaftStore) {
		t.Helper()
		for _, want := range logs {
			got := getLog(t, rs, want.Index)
			if err := sameLog(got, *want); err != nil {
				t.Fatalf("log %d: %v", want.Index, err)
			}
		}
		if first, last := indexes(t, rs); first != 1 || last != math.MaxUint64 {
			t.Fatalf("First/LastIndex = %d/%d, want 1/%d", first, last, uint64(math.MaxUint64))
		}
	}
	check(rs)

	// The stored log is a copy of the caller's, and GetLog's result a copy
	// of the stored one.
	logs[0].Data[0] = 'X'
	got := getLog(t, rs, 1)
	if string(got.Data) != "config" {
		t.Fatalf("changing the stored log's Data changed the store: %q", got.Data)
	}
	logs[0].Data[0] = 'c'
	got.Data[0], got.Extensions[0] = 'Y', 'Y'
	if again := getLog(t, rs, 1); string(again.Data) != "config" || string(again.Extensions) != "ext" {
		t.Fatalf("changing GetLog's result changed the store: %q %q", again.Data, again.Extensions)
	}

	// GetLog overwrites every field of the target.
	dirty := raft.Log{Index: 9, Term: 9, Type: raft.LogBarrier, Data: []byte("old"), Extensions: []byte("old"), AppendedAt: time.Now()}
	if err := rs.GetLog(2, &dirty); err != nil {
		t.Fatal(err)
	}
	if err := sameLog(dirty, *logs[1]); err != nil {
		t.Fatalf("GetLog into a used Log: %v", err)
	}

	if err := persistence.FlushForTest(s); err != nil {
		t.Fatal(err)
	}
	check(rs)
	persistence.CloseForTest(t, s)
	check(persistence.MustOpen(t, persistence.Options{Dir: dir}).Raft())
}

func TestRaftLogIndexes(t *testing.T) {
	rs := persistence.MustOpenStore(t).Raft()
	if first, last := indexes(t, rs); first != 0 || last != 0 {
		t.Fatalf("empty log: First/LastIndex = %d/%d, want 0/0", first, last)
	}
	for i := uint64(1); i <= 10; i++ {
		storeLogs(t, rs, cmdLog(i))
	}
	steps := []struct {
		min, max    uint64
		first, last uint64
	}{
		{1, 3, 4, 10},  // head (raft's compaction after a snapshot)
		{8, 10, 4, 7},  // tail (raft's removal of conflicting entries)
		{9, 20, 4, 7},  // beyond the end
		{5, 4, 4, 7},   // min > max: nothing
		{5, 5, 4, 7},   // a hole
		{4, 7, 0, 0},   // everything
		{0, 100, 0, 0}, // on an empty log
	}
	present := map[uint64]bool{}
	for i := uint64(1); i <= 10; i++ {
		present[i] = true
	}
	for _, st := range steps {
		if err := rs.DeleteRange(st.min, st.max); err != nil {
			t.Fatalf("DeleteRange(%d, %d): %v", st.min, st.max, err)
		}
		for i := st.min; i <= st.max && st.min <= st.max; i++ {
			delete(present, i)
		}
		if first, last := indexes(t, rs); first != st.first || last != st.last {
			t.Fatalf("after DeleteRange(%d, %d): First/LastIndex = %d/%d, want %d/%d", st.min, st.max, first, last, st.first, st.last)
		}
		for i := uint64(0); i <= 12; i++ {
			var l raft.Log
			err := rs.GetLog(i, &l)
			if present[i] && (err != nil || l.Index != i) {
				t.Fatalf("after DeleteRange(%d, %d): GetLog(%d) = %v, %d", st.min, st.max, i, err, l.Index)
			}
			if !present[i] && err != raft.ErrLogNotFound {
				t.Fatalf("after DeleteRange(%d, %d): GetLog(%d) of a deleted log = %v", st.min, st.max, i, err)
			}
		}
	}

	// Gaps (raft may leave one after restoring a snapshot), and the extreme
	// indexes: a range deletion up to MaxUint64 has no successor key.
	storeLogs(t, rs, cmdLog(0), cmdLog(5), cmdLog(6), cmdLog(100), cmdLog(math.MaxUint64))
	if first, last := indexes(t, rs); first != 0 || last != math.MaxUint64 {
		t.Fatalf("First/LastIndex = %d/%d, want 0/MaxUint64", first, last)
	}
	if err := rs.DeleteRange(1, math.MaxUint64-1); err != nil {
		t.Fatal(err)
	}
	if first, last := indexes(t, rs); first != 0 || last != math.MaxUint64 {
		t.Fatalf("DeleteRange(1, MaxUint64-1) reached the ends: First/LastIndex = %d/%d", first, last)
	}
	if err := rs.DeleteRange(0, math.MaxUint64); err != nil {
		t.Fatal(err)
	}
	if first, last := indexes(t, rs); first != 0 || last != 0 {
		t.Fatalf("after DeleteRange(0, MaxUint64): First/LastIndex = %d/%d, want 0/0", first, last)
	}
}

// A missing log is raft.ErrLogNotFound itself: raft's replication compares
// with ==, not errors.Is.
func TestRaftGetLogMissing(t *testing.T) {
	rs := persistence.MustOpenStore(t).Raft()
	var l raft.Log
	if err := rs.GetLog(1, &l); err != raft.ErrLogNotFound {
		t.Fatalf("GetLog on an empty log = %v, want raft.ErrLogNotFound", err)
	}
	storeLogs(t, rs, cmdLog(1), cmdLog(3))
	for _, i := range []uint64{0, 2, 4, math.MaxUint64} {
		if err := rs.GetLog(i, &l); err != raft.ErrLogNotFound {
			t.Fatalf("GetLog(%d) = %v, want raft.ErrLogNotFound", i, err)
		}
	}
	if err := rs.StoreLogs(nil); err != nil {
		t.Fatalf("StoreLogs(nil) = %v", err)
	}
}

// StoreLogs is one atomic batch: a batch that rewrites a range is seen
// whole or not at all by a concurrent reader.
func TestRaftStoreLogsAtomic(t *testing.T) {
	rs := persistence.MustOpenStore(t).Raft()
	const n = 20
	batch := func(term uint64) []*raft.Log {
		logs := make([]*raft.Log, n)
		for i := range logs {
			logs[i] = &raft.Log{Index: uint64(i + 1), Term: term, Data: []byte("x")}
		}
		return logs
	}
	storeLogs(t, rs, batch(1)...)
	done := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		defer close(errs)
		for {
			select {
			case <-done:
				return
			default:
			}
			// Batches write logs 1..n with one term, growing: read log 1,
			// then log n. Had a batch been applied key by key, log 1 could
			// have the new term while log n still has the old one.
			var first, last raft.Log
			if err := rs.GetLog(1, &first); err != nil {
				errs <- err
				return
			}
			if err := rs.GetLog(n, &last); err != nil {
				errs <- err
				return
			}
			if last.Term < first.Term {
				errs <- fmt.Errorf("log %d has term %d after log 1 had term %d: a StoreLogs batch seen half applied", n, last.Term, first.Term)
				return
			}
		}
	}()
	for term := uint64(2); term < 200; term++ {
		storeLogs(t, rs, batch(term)...)
	}
	close(done)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestRaftStableStore(t *testing.T) {
	dir := t.TempDir()
	s := persistence.MustOpen(t, persistence.Options{Dir: dir})
	rs := s.Raft()

	// Absent keys: nil and no error, 0 and no error (raft.StableStore's
	// documented contract; raft also tolerates an error reading
	// "not found", which is what its InmemStore and raft-boltdb return).
	if v, err := rs.Get([]byte("LastVoteCand")); v != nil || err != nil {
		t.Fatalf("Get of an absent key = %q, %v; want nil, nil", v, err)
	}
	if v, err := rs.GetUint64([]byte("CurrentTerm")); v != 0 || err != nil {
		t.Fatalf("GetUint64 of an absent key = %d, %v; want 0, nil", v, err)
	}

	set := func(k, v string) {
		t.Helper()
		if err := rs.Set([]byte(k), []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	setU := func(k string, v uint64) {
		t.Helper()
		if err := rs.SetUint64([]byte(k), v); err != nil {
			t.Fatal(err)
		}
	}
	set("LastVoteCand", "node-1")
	set("LastVoteCand", "node-2") // overwrite
	set("empty", "")
	set("", "empty key")
	set("bin\x00\xff", "\x00\x01")
	setU("CurrentTerm", 7)
	setU("CurrentTerm", 8)
	setU("max", math.MaxUint64)
	setU("zero", 0)

	check := func(rs *persistence.RaftStore) {
		t.Helper()
		for k, want := range map[string]string{"LastVoteCand": "node-2", "": "empty key", "bin\x00\xff": "\x00\x01"} {
			if v, err := rs.Get([]byte(k)); err != nil || string(v) != want {
				t.Fatalf("Get(%q) = %q, %v; want %q", k, v, err, want)
			}
		}
		if v, err := rs.Get([]byte("empty")); err != nil || v == nil || len(v) != 0 {
			t.Fatalf("Get of a key set empty = %#v, %v; want an empty non-nil slice", v, err)
		}
		for k, want := range map[string]uint64{"CurrentTerm": 8, "max": math.MaxUint64, "zero": 0, "absent": 0} {
			if v, err := rs.GetUint64([]byte(k)); err != nil || v != want {
				t.Fatalf("GetUint64(%q) = %d, %v; want %d", k, v, err, want)
			}
		}
		// A key that does not hold 8 bytes is not silently a number.
		if _, err := rs.GetUint64([]byte("LastVoteCand")); err == nil {
			t.Fatal("GetUint64 of a 6-byte value succeeded")
		}
		// Get hands out copies.
		v, _ := rs.Get([]byte("LastVoteCand"))
		v[0] = 'X'
		if again, _ := rs.Get([]byte("LastVoteCand")); string(again) != "node-2" {
			t.Fatalf("changing Get's result changed the store: %q", again)
		}
	}
	check(rs)
	persistence.CloseForTest(t, s)
	check(persistence.MustOpen(t, persistence.Options{Dir: dir}).Raft())
}

// raft's own reading of the stores: HasExistingState and BootstrapCluster
// see an empty store as empty and a used one as used.
func TestRaftHasExistingState(t *testing.T) {
	rs := persistence.MustOpenStore(t).Raft()
	snaps := raft.NewInmemSnapshotStore()
	if has, err := raft.HasExistingState(rs, rs, snaps); err != nil || has {
		t.Fatalf("HasExistingState on an empty store = %v, %v", has, err)
	}
	conf := raftConfig("n1")
	_, trans := raft.NewInmemTransport("n1")
	defer trans.Close()
	cfg := raft.Configuration{Servers: []raft.Server{{ID: "n1", Address: trans.LocalAddr()}}}
	if err := raft.BootstrapCluster(conf, rs, rs, snaps, trans, cfg); err != nil {
		t.Fatal(err)
	}
	if has, err := raft.HasExistingState(rs, rs, snaps); err != nil || !has {
		t.Fatalf("HasExistingState after bootstrap = %v, %v", has, err)
	}
	if err := raft.BootstrapCluster(conf, rs, rs, snaps, trans, cfg); err != raft.ErrCantBootstrap {
		t.Fatalf("second BootstrapCluster = %v, want ErrCantBootstrap", err)
	}
	l := getLog(t, rs, 1)
	if l.Type != raft.LogConfiguration || l.Term != 1 {
		t.Fatalf("bootstrap entry = %+v", l)
	}
	if got := raft.DecodeConfiguration(l.Data); !slices.Equal(got.Servers, cfg.Servers) {
		t.Fatalf("bootstrap configuration = %+v, want %+v", got, cfg)
	}
}

// Raft's keys live outside every shard: Scan, ScanIndex and DeleteAll of
// the dialerd.Store never see or touch them, whatever they look like, and
// the Store's data never shows up in the raft log.
func TestRaftKeysInvisibleToStore(t *testing.T) {
	s := persistence.MustOpenStore(t)
	rs := s.Raft()
	// Stable keys and log data shaped like shard keys and names.
	for _, k := range []string{"", "d", "i", "\x00\x00dcampaign/a\x00doc", "\x00\xffiidx\x00k", "\xff\xff"} {
		if err := rs.Set([]byte(k), []byte("raft")); err != nil {
			t.Fatal(err)
		}
		if err := rs.SetUint64([]byte("u"+k), 1); err != nil {
			t.Fatal(err)
		}
	}
	for i := uint64(0); i < 300; i++ {
		storeLogs(t, rs, &raft.Log{Index: i, Term: 1, Data: []byte("raft")})
	}
	storeLogs(t, rs, cmdLog(math.MaxUint64))
	for _, index := range []string{"idx", "d", "i", "l", "s", "\xff", "\xff\xff"} {
		if got := scanIndex(t, s, index, ""); len(got) != 0 {
			t.Fatalf("ScanIndex(%q) over raft keys only = %q", index, got)
		}
	}
	for _, id := range []string{"campaign/a", "\xff", "\xff\xff", "\xff\xffl", "\xff\xffs", "l", "s"} {
		if got := scan(t, s, id, ""); len(got) != 0 {
			t.Fatalf("Scan(%q) over raft keys only = %q", id, got)
		}
		apply(t, s, id, dialerd.Set("k", []byte("data")), dialerd.IndexSet("idx", id, []byte("data")))
		apply(t, s, id, dialerd.DeleteAll(), dialerd.Set("k2", []byte("data")))
		if got := scan(t, s, id, ""); !slices.Equal(got, []kv{{"k2", "data"}}) {
			t.Fatalf("Scan(%q) = %q", id, got)
		}
	}
	if got := scanIndex(t, s, "idx", ""); len(got) != 7 {
		t.Fatalf("ScanIndex(idx) = %d entries, want 7: %q", len(got), got)
	}
	if err := persistence.CompactForTest(s); err != nil {
		t.Fatal(err)
	}
	if first, last := indexes(t, rs); first != 0 || last != math.MaxUint64 {
		t.Fatalf("raft log after store writes: First/LastIndex = %d/%d", first, last)
	}
	for i := uint64(0); i < 300; i++ {
		if l := getLog(t, rs, i); string(l.Data) != "raft" {
			t.Fatalf("log %d = %q", i, l.Data)
		}
	}
	if v, err := rs.Get([]byte("")); err != nil || string(v) != "raft" {
		t.Fatalf("stable Get(\"\") = %q, %v", v, err)
	}
}

// A trivial FSM: the commands it applied, in order. Snapshots hold the
// list; it counts what came from a snapshot and what was applied.
type listFSM struct {
	mu       sync.Mutex
	cmds     []string
	restored int // commands that came from the last Restore
	applied  int // commands applied since
}

func (f *listFSM) Apply(l *raft.Log) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cmds = append(f.cmds, string(l.Data))
	f.applied++
	return len(f.cmds)
}

func (f *listFSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return listSnapshot(slices.Clone(f.cmds)), nil
}

func (f *listFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var cmds []string
	if err := json.NewDecoder(rc).Decode(&cmds); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cmds, f.restored, f.applied = cmds, len(cmds), 0
	return nil
}

func (f *listFSM) state() (cmds []string, restored, applied int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.cmds), f.restored, f.applied
}

type listSnapshot []string

func (s listSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := json.NewEncoder(sink).Encode([]string(s)); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (listSnapshot) Release() {}

func raftConfig(id raft.ServerID) *raft.Config {
	conf := raft.DefaultConfig()
	conf.LocalID = id
	conf.HeartbeatTimeout = 50 * time.Millisecond
	conf.ElectionTimeout = 50 * time.Millisecond
	conf.LeaderLeaseTimeout = 50 * time.Millisecond
	conf.CommitTimeout = 5 * time.Millisecond
	// Snapshots only when the test asks, and few trailing logs, so that a
	// snapshot compacts the log.
	conf.SnapshotThreshold = math.MaxUint64 / 2
	conf.SnapshotInterval = time.Hour
	conf.TrailingLogs = 10
	conf.LogOutput = io.Discard
	return conf
}

func waitLeader(t *testing.T, r *raft.Raft) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for r.State() != raft.Leader {
		if time.Now().After(deadline) {
			t.Fatalf("no leader after 20s: state %v", r.State())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A real single-node hashicorp/raft on the Pebble stores: bootstrap, 50
// commands, a snapshot that compacts the log, 50 more commands; shut down,
// close and reopen the database, restart raft: the log, the term and the
// FSM (snapshot restored, then the log after it replayed) are all back.
func TestRaftEndToEnd(t *testing.T) {
	dir, snapDir := t.TempDir(), t.TempDir()
	const addr = raft.ServerAddress("n1")
	cmd := func(i int) string { return fmt.Sprintf("cmd-%03d", i) }
	wantCmds := make([]string, 100)
	for i := range wantCmds {
		wantCmds[i] = cmd(i)
	}

	s := persistence.MustOpen(t, persistence.Options{Dir: dir})
	rs := s.Raft()
	snaps, err := raft.NewFileSnapshotStore(snapDir, 2, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	_, trans := raft.NewInmemTransport(addr)
	conf := raftConfig("n1")
	if err := raft.BootstrapCluster(conf, rs, rs, snaps, trans, raft.Configuration{
		Servers: []raft.Server{{ID: "n1", Address: addr}},
	}); err != nil {
		t.Fatal(err)
	}
	fsm := &listFSM{}
	r, err := raft.NewRaft(conf, fsm, rs, rs, snaps, trans)
	if err != nil {
		t.Fatal(err)
	}
	waitLeader(t, r)
	var lastApplied uint64
	for i := range 100 {
		f := r.Apply([]byte(cmd(i)), 5*time.Second)
		if err := f.Error(); err != nil {
			t.Fatalf("Apply %d: %v", i, err)
		}
		if n := f.Response().(int); n != i+1 {
			t.Fatalf("Apply %d: the FSM holds %d commands", i, n)
		}
		lastApplied = f.Index()
		if i == 49 {
			if err := r.Snapshot().Error(); err != nil {
				t.Fatalf("Snapshot: %v", err)
			}
		}
	}
	first, last := indexes(t, rs)
	if last != lastApplied || last != r.LastIndex() {
		t.Fatalf("LastIndex = %d, raft's last index %d, last Apply at %d", last, r.LastIndex(), lastApplied)
	}
	if first <= 1 {
		t.Fatalf("FirstIndex = %d after a snapshot with TrailingLogs 10: the log was not compacted", first)
	}
	var firstLog raft.Log
	if err := rs.GetLog(first-1, &firstLog); err != raft.ErrLogNotFound {
		t.Fatalf("GetLog below FirstIndex = %v", err)
	}
	term, err := rs.GetUint64([]byte("CurrentTerm"))
	if err != nil || term == 0 {
		t.Fatalf("CurrentTerm = %d, %v", term, err)
	}
	if err := r.Shutdown().Error(); err != nil {
		t.Fatal(err)
	}
	trans.Close()
	persistence.CloseForTest(t, s)

	// Reopen the database: the raft state is on disk.
	s = persistence.MustOpen(t, persistence.Options{Dir: dir})
	rs = s.Raft()
	if f, l := indexes(t, rs); f != first || l != last {
		t.Fatalf("after reopen First/LastIndex = %d/%d, want %d/%d", f, l, first, last)
	}
	if got, err := rs.GetUint64([]byte("CurrentTerm")); err != nil || got != term {
		t.Fatalf("after reopen CurrentTerm = %d, %v; want %d", got, err, term)
	}
	if l := getLog(t, rs, last); l.Type != raft.LogCommand || string(l.Data) != cmd(99) || l.AppendedAt.IsZero() {
		t.Fatalf("after reopen the last log = %+v", l)
	}
	snaps, err = raft.NewFileSnapshotStore(snapDir, 2, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := raft.BootstrapCluster(conf, rs, rs, snaps, trans, raft.Configuration{
		Servers: []raft.Server{{ID: "n1", Address: addr}},
	}); err != raft.ErrCantBootstrap {
		t.Fatalf("BootstrapCluster on the reopened store = %v, want ErrCantBootstrap", err)
	}
	_, trans = raft.NewInmemTransport(addr)
	defer trans.Close()
	fsm = &listFSM{}
	r, err = raft.NewRaft(conf, fsm, rs, rs, snaps, trans)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Shutdown()
	waitLeader(t, r)
	if err := r.Barrier(5 * time.Second).Error(); err != nil {
		t.Fatal(err)
	}
	cmds, restored, applied := fsm.state()
	if !slices.Equal(cmds, wantCmds) {
		t.Fatalf("after restart the FSM holds %d commands %q..., want %d", len(cmds), cmds[:min(len(cmds), 3)], len(wantCmds))
	}
	if restored != 50 || applied != 50 {
		t.Fatalf("after restart %d commands came from the snapshot and %d from the log, want 50 and 50", restored, applied)
	}
	f := r.Apply([]byte("after-restart"), 5*time.Second)
	if err := f.Error(); err != nil {
		t.Fatal(err)
	}
	if f.Index() <= last {
		t.Fatalf("first Apply after restart at index %d, not after the old last %d", f.Index(), last)
	}
	if _, l := indexes(t, rs); l != f.Index() {
		t.Fatalf("LastIndex = %d, last Apply at %d", l, f.Index())
	}
	if err := r.Shutdown().Error(); err != nil {
		t.Fatal(err)
	}
}
