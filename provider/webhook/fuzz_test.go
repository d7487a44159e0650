package webhook

import (
	"encoding/json"
	"testing"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/provider"
)

// FuzzVerify: Verify never panics, rejects with the project's error, and
// an event it accepts survives a round trip: marshalled, signed and
// verified again under a fresh ID, it is the same event. With sign set
// the body is signed as given, so the fuzzer reaches the event parser.
func FuzzVerify(f *testing.F) {
	for _, body := range []string{
		`{"id":"ev-1","call":"c-1","type":"answered"}`,
		`{"id":"ev-2","call":"c-1","type":"ended","disposition":"callback","callback_at":"2025-01-02T09:30:00.5-05:00"}`,
		`{"id":"ev-3","call":"c-1","type":"failed","reason":"number not in service"}`,
		`{"id":"ev-4","call":"c-1","type":"ended","disposition":"do_not_call"}`,
		`{"id":"\u00e9v","call":"c\n1","type":"busy","disposition":""}`,
		`{"id":"e","call":"c","type":"busy"} `,
		`{"id":"e","call":"c","type":"busy","type":"busy"}`,
		`{"id":"e","call":"c","type":"ended","callback_at":"0000-01-01T00:00:00+01:00","disposition":"callback"}`,
		`{"id":"e","call":"c","type":"ended","callback_at":"9999-12-31T23:59:59-01:00","disposition":"callback"}`,
		`{"id":"e","call":"c","type":1}`,
		`{"id":"e",`,
		`[{"id":"e"}]`,
		`null`,
		``,
	} {
		f.Add([]byte(body), Sign(testSecret, t0, []byte(body)), false)
		f.Add([]byte(body), "", true)
	}
	f.Add([]byte(`{}`), "t=1735732800,v1=00", false)
	f.Add([]byte(`{}`), "t=99999999999999999999,v1=", false)
	f.Add([]byte(`{}`), "t=-1,v1=zz,v1,=,,", false)
	f.Add([]byte(`{}`), "t=9223372036854775807,v1="+Sign(testSecret, t0, nil)[len("t=1735732800,v1="):], false)

	f.Fuzz(func(t *testing.T, body []byte, sig string, sign bool) {
		w, clock := verifier(t, Config{Secret: testSecret})
		if sign {
			sig = Sign(testSecret, clock.Now(), body)
		}
		ev, err := w.Verify(body, sig)
		if err != nil {
			if code := dialerd.ErrorCode(err); code != dialerd.EUNAUTHORIZED && code != dialerd.EINVALID {
				t.Fatalf("error %v: code %q", err, code)
			}
			return
		}
		again := ev
		again.ID = "fresh-id"
		out, err := json.Marshal(again)
		if err != nil {
			t.Fatalf("accepted %+v does not marshal: %v", ev, err)
		}
		got, err := w.Verify(out, Sign(testSecret, clock.Now(), out))
		if err != nil {
			t.Fatalf("accepted %q, re-marshalled %s is rejected: %v", body, out, err)
		}
		if !same(got, again) {
			t.Fatalf("round trip of %q: %+v, want %+v", body, got, again)
		}
	})
}

func same(a, b provider.Event) bool {
	return a.CallbackAt.Equal(b.CallbackAt) && a.CallbackAt.Location() == b.CallbackAt.Location() &&
		a.ID == b.ID && a.Call == b.Call && a.Type == b.Type && a.Disposition == b.Disposition && a.Reason == b.Reason
}
