package dialerd

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestComputeStatus(t *testing.T) {
	held := []Reason{
		{"no_available_seats", "No seat is available."},
		{"outside_window", "Every remaining prospect is outside its calling window."},
	}
	tests := []struct {
		name        string
		active      bool
		paused      bool
		in          StatusInput
		wantStatus  string
		wantReasons []string // reason codes, in order
	}{
		{
			name:        "inactive",
			active:      false,
			in:          StatusInput{Prospects: ProspectCounts{Total: 10, Unresolved: 10}},
			wantStatus:  StatusInactive,
			wantReasons: []string{"inactive"},
		},
		{
			// active=false wins over calls still in progress.
			name:        "inactive with calls in progress",
			active:      false,
			in:          StatusInput{Calls: CallFigures{Connected: 2}, Prospects: ProspectCounts{Total: 10, Unresolved: 5}},
			wantStatus:  StatusInactive,
			wantReasons: []string{"inactive"},
		},
		{
			name:        "inactive and paused, with held-back reasons",
			active:      false,
			paused:      true,
			in:          StatusInput{Prospects: ProspectCounts{Total: 10, Unresolved: 10}, Reasons: held},
			wantStatus:  StatusInactive,
			wantReasons: []string{"inactive"},
		},
		{
			name:        "running: ringing",
			active:      true,
			in:          StatusInput{Calls: CallFigures{Ringing: 1}, Prospects: ProspectCounts{Total: 10, Unresolved: 9}},
			wantStatus:  StatusRunning,
			wantReasons: []string{},
		},
		{
			name:        "running: connected",
			active:      true,
			in:          StatusInput{Calls: CallFigures{Connected: 1}, Prospects: ProspectCounts{Total: 10, Unresolved: 9}},
			wantStatus:  StatusRunning,
			wantReasons: []string{},
		},
		{
			name:        "running: queued",
			active:      true,
			in:          StatusInput{Calls: CallFigures{Queued: 1}, Prospects: ProspectCounts{Total: 10, Unresolved: 9}},
			wantStatus:  StatusRunning,
			wantReasons: []string{},
		},
		{
			// The last prospects' calls are still up: not completed yet.
			name:        "running: last calls in progress, nothing unresolved",
			active:      true,
			in:          StatusInput{Calls: CallFigures{Connected: 3}, Prospects: ProspectCounts{Total: 10, Unresolved: 0}},
			wantStatus:  StatusRunning,
			wantReasons: []string{},
		},
		{
			// Pausing stops new calls; those in progress keep it running.
			name:        "running while paused",
			active:      true,
			paused:      true,
			in:          StatusInput{Calls: CallFigures{Ringing: 2}, Prospects: ProspectCounts{Total: 10, Unresolved: 8}, Reasons: held},
			wantStatus:  StatusRunning,
			wantReasons: []string{},
		},
		{
			name:        "completed: every prospect resolved",
			active:      true,
			in:          StatusInput{Prospects: ProspectCounts{Total: 10, Unresolved: 0}},
			wantStatus:  StatusCompleted,
			wantReasons: []string{},
		},
		{
			name:        "completed: no prospects at all",
			active:      true,
			in:          StatusInput{},
			wantStatus:  StatusCompleted,
			wantReasons: []string{"no_prospects"},
		},
		{
			name:        "completed while paused",
			active:      true,
			paused:      true,
			in:          StatusInput{Prospects: ProspectCounts{Total: 4, Unresolved: 0}},
			wantStatus:  StatusCompleted,
			wantReasons: []string{},
		},
		{
			name:        "stopped: nothing to say",
			active:      true,
			in:          StatusInput{Prospects: ProspectCounts{Total: 10, Unresolved: 3}},
			wantStatus:  StatusStopped,
			wantReasons: []string{},
		},
		{
			name:        "stopped: paused",
			active:      true,
			paused:      true,
			in:          StatusInput{Prospects: ProspectCounts{Total: 10, Unresolved: 3}},
			wantStatus:  StatusStopped,
			wantReasons: []string{"paused"},
		},
		{
			name:        "stopped: the dialer's reasons",
			active:      true,
			in:          StatusInput{Prospects: ProspectCounts{Total: 10, Unresolved: 3}, Reasons: held},
			wantStatus:  StatusStopped,
			wantReasons: []string{"no_available_seats", "outside_window"},
		},
		{
			name:        "stopped: paused first, then the dialer's reasons",
			active:      true,
			paused:      true,
			in:          StatusInput{Prospects: ProspectCounts{Total: 10, Unresolved: 3, DialableNow: 0}, Reasons: held},
			wantStatus:  StatusStopped,
			wantReasons: []string{"paused", "no_available_seats", "outside_window"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := namedCampaign()
			c.Slug = "spring-promo"
			c.Active = tt.active
			c.Paused = tt.paused
			c.CallRatio = 2.5
			tt.in.Seats = SeatFigures{Available: 1, Busy: 2, WrapUp: 3, Paused: 4, Offline: 5}
			s := ComputeStatus(&c, tt.in)
			if s.Status != tt.wantStatus {
				t.Errorf("Status = %q, want %q", s.Status, tt.wantStatus)
			}
			if s.Reasons == nil {
				t.Fatalf("Reasons is nil; it must be a list (JSON [] rather than null)")
			}
			codes := make([]string, len(s.Reasons))
			for i, r := range s.Reasons {
				codes[i] = r.Code
				if strings.TrimSpace(r.Message) == "" {
					t.Errorf("reason %q has no message", r.Code)
				}
			}
			if !reflect.DeepEqual(codes, tt.wantReasons) {
				t.Errorf("reason codes = %q, want %q", codes, tt.wantReasons)
			}
			// The figures are the input's, passed through.
			if s.Slug != "spring-promo" || s.Active != tt.active || s.Paused != tt.paused {
				t.Errorf("slug/active/paused = %q/%v/%v, want spring-promo/%v/%v", s.Slug, s.Active, s.Paused, tt.active, tt.paused)
			}
			if s.Calls != tt.in.Calls || s.Seats != tt.in.Seats || s.Prospects != tt.in.Prospects {
				t.Errorf("figures = %+v %+v %+v, want %+v %+v %+v", s.Calls, s.Seats, s.Prospects, tt.in.Calls, tt.in.Seats, tt.in.Prospects)
			}
			if s.EffectiveCallRatio != 2.5 {
				t.Errorf("EffectiveCallRatio = %v, want the campaign's 2.5", s.EffectiveCallRatio)
			}
		})
	}
}

func TestComputeStatusDoesNotAliasInputReasons(t *testing.T) {
	c := namedCampaign()
	in := StatusInput{Prospects: ProspectCounts{Total: 1, Unresolved: 1}, Reasons: []Reason{{"holiday", "A holiday."}}}
	s := ComputeStatus(&c, in)
	s.Reasons[0].Code = "changed"
	if in.Reasons[0].Code != "holiday" {
		t.Errorf("changing the status's reasons changed the input's: %q", in.Reasons[0].Code)
	}
}

func TestCallFiguresInProgress(t *testing.T) {
	if got := (CallFigures{Ringing: 1, Connected: 2, Queued: 4}).InProgress(); got != 7 {
		t.Errorf("InProgress() = %d, want 7", got)
	}
	if got := (CallFigures{}).InProgress(); got != 0 {
		t.Errorf("InProgress() = %d, want 0", got)
	}
}

func TestCampaignStatusJSON(t *testing.T) {
	c := namedCampaign()
	c.Slug = "x"
	data, err := json.Marshal(ComputeStatus(&c, StatusInput{Prospects: ProspectCounts{Total: 2, Unresolved: 0}}))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if string(m["status"]) != `"Completed"` {
		t.Errorf("status = %s, want \"Completed\"", m["status"])
	}
	if string(m["reasons"]) != `[]` {
		t.Errorf("reasons = %s, want []", m["reasons"])
	}
	for _, k := range []string{"slug", "active", "paused", "calls", "seats", "prospects", "attempts_30d", "abandon_rate_30d", "effective_call_ratio"} {
		if _, ok := m[k]; !ok {
			t.Errorf("status JSON has no %q: %s", k, data)
		}
	}
}
