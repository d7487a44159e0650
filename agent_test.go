package dialerd

import (
	"reflect"
	"testing"
)

func TestParseAgentInput(t *testing.T) {
	for _, c := range []struct {
		body string
		ok   bool
		bad  string
	}{
		{`{"workspace": "ws_1", "seats": 5}`, true, ""},
		{`{"workspace": null, "seats": 0}`, true, ""},
		{`{"seats": 10000}`, true, ""},
		{`{"seats": 10001}`, false, "seats"},
		{`{"seats": -1}`, false, "seats"},
		{`{"seats": 2.5}`, false, "seats"},
		{`{"seats": "3"}`, false, "seats"},
		{`{"workspace": "ws"}`, false, "seats"},
		{`{"workspace": "", "seats": 1}`, false, "workspace"},
		{`{"workspace": 7, "seats": 1}`, false, "workspace"},
		{`{"seats": 1, "name": "x"}`, false, "name"},
	} {
		_, err := ParseAgentInput([]byte(c.body))
		if (err == nil) != c.ok {
			t.Errorf("%s: err %v", c.body, err)
			continue
		}
		if !c.ok {
			if _, named := err.(*Error).Fields[c.bad]; !named {
				t.Errorf("%s: %v does not name %s", c.body, err, c.bad)
			}
		}
	}
	if _, err := ParseAgentInput([]byte(`[1]`)); err == nil {
		t.Error("an array was accepted")
	}
}

func TestParseSeatState(t *testing.T) {
	for _, s := range []string{"available", "paused", "offline"} {
		if got, err := ParseSeatState([]byte(`{"state": "` + s + `"}`)); err != nil || got != s {
			t.Errorf("%s: %q %v", s, got, err)
		}
	}
	for _, body := range []string{`{"state": "busy"}`, `{}`, `{"state": 1}`, `{"state": "paused", "x": 1}`} {
		if _, err := ParseSeatState([]byte(body)); err == nil {
			t.Errorf("%s accepted", body)
		}
	}
}

func TestAgentResize(t *testing.T) {
	a := Agent{}
	a.Resize(3)
	a.Seats[1].State = SeatPaused
	a.Resize(4)
	want := []AgentSeat{{1, SeatAvailable}, {2, SeatPaused}, {3, SeatAvailable}, {4, SeatAvailable}}
	if !reflect.DeepEqual(a.Seats, want) {
		t.Fatalf("grown: %v", a.Seats)
	}
	a.Resize(2)
	if !reflect.DeepEqual(a.Seats, want[:2]) {
		t.Fatalf("shrunk: %v", a.Seats)
	}
	for _, id := range []string{"agent_1", "Sales-Team.2"} {
		if !ValidAgentID(id) {
			t.Errorf("%q refused", id)
		}
	}
	for _, id := range []string{"", "a/b", "a b", "é"} {
		if ValidAgentID(id) {
			t.Errorf("%q accepted", id)
		}
	}
}
