package intake

import (
	"reflect"
	"strings"
	"testing"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/phone"
)

// FuzzNormalize drives the phone, state and time-zone derivation with
// arbitrary values: it never panics, and what it accepts is well formed —
// an E.164 number, a state of the locale (or none), valid zones, and the
// explicit columns winning over what the number says.
func FuzzNormalize(f *testing.F) {
	for _, s := range [][3]string{
		{"(415) 555-1234", "", ""},
		{"+1 604 555 0199", "bc", ""},
		{"4155551234", "TX", "America/Chicago"},
		{"1-800-555-0100", "", ""},
		{"+44 20 7946 0958", "", ""},
		{"555", "ZZ", "Mars/Olympus"},
		{"+1 (212) 555-0100 ext. 7", " ny ", "america/new_york"},
		{"\x00\xff", "\u00e9", "UTC"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	parser, err := phone.NewParser("USCA")
	if err != nil {
		f.Fatal(err)
	}
	loc := dialerd.Locales["USCA"]
	f.Fuzz(func(t *testing.T, number, state, zone string) {
		in := map[string]string{"phone": number}
		if state != "" {
			in["state"] = state
		}
		if zone != "" {
			in["timezone"] = zone
		}
		p, err := Normalize(in, parser, loc)
		again, err2 := Normalize(in, parser, loc)
		if (err == nil) != (err2 == nil) || !reflect.DeepEqual(p, again) {
			t.Fatalf("not deterministic: %v / %v", err, err2)
		}
		if err != nil {
			de, ok := err.(*dialerd.Error)
			if !ok || de.Code != dialerd.EINVALID || len(de.Fields) == 0 {
				t.Fatalf("error is not a field error: %#v", err)
			}
			return
		}
		if !strings.HasPrefix(p.Phone, "+1") || len(p.Phone) != 12 || strings.Trim(p.Phone[1:], "0123456789") != "" {
			t.Fatalf("phone %q is not a NANP E.164 number", p.Phone)
		}
		if p.State != "" {
			if _, ok := loc.Regions[p.State]; !ok {
				t.Fatalf("state %q is not of the locale", p.State)
			}
		}
		if st := strings.ToUpper(strings.TrimSpace(state)); st != "" && p.State != st {
			t.Fatalf("explicit state %q lost: got %q", st, p.State)
		}
		for _, z := range p.Timezones {
			if !phone.ValidZone(z) {
				t.Fatalf("invalid zone %q", z)
			}
		}
		if z := strings.TrimSpace(zone); z != "" {
			if canon, _ := phone.CanonicalZone(z); len(p.Timezones) != 1 || p.Timezones[0] != canon {
				t.Fatalf("explicit zone %q gave %v", z, p.Timezones)
			}
		} else if len(p.Timezones) == 0 && p.State != "" {
			t.Fatalf("a number of state %s got no zone", p.State)
		}
	})
}
