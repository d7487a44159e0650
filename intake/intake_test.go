package intake

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/phone"
)

func TestNormalize(t *testing.T) {
	parser, err := phone.NewParser("USCA")
	if err != nil {
		t.Fatal(err)
	}
	loc := dialerd.Locales["USCA"]
	cases := []struct {
		name   string
		in     map[string]string
		phone  string
		state  string
		zones  []string
		fields map[string]string
		bad    string // field named by the error, "" when valid
	}{
		{"number only", map[string]string{"primary_phone": "(415) 555-1234"}, "+14155551234", "CA", []string{"America/Los_Angeles"}, map[string]string{}, ""},
		{"alias and case", map[string]string{" Phone_Number ": "4155551234", "FirstName": "Ann"}, "+14155551234", "CA", []string{"America/Los_Angeles"}, map[string]string{}, ""},
		{"explicit state wins", map[string]string{"phone": "+14155551234", "province": "on"}, "+14155551234", "ON", phone.ZonesForRegion("ON"), map[string]string{}, ""},
		{"explicit zone wins", map[string]string{"phone": "+14155551234", "timezone": "America/Chicago", "state": "TX"}, "+14155551234", "TX", []string{"America/Chicago"}, map[string]string{}, ""},
		{"custom columns kept", map[string]string{"phone": "+14155551234", "Policy No": "77"}, "+14155551234", "CA", []string{"America/Los_Angeles"}, map[string]string{"Policy No": "77"}, ""},
		{"missing phone", map[string]string{"first_name": "x"}, "", "", nil, nil, "primary_phone"},
		{"bad phone under its alias", map[string]string{"phone_number": "12"}, "", "", nil, nil, "phone_number"},
		{"foreign number", map[string]string{"phone": "+442079460958"}, "", "", nil, nil, "phone"},
		{"unknown state", map[string]string{"phone": "+14155551234", "state": "XX"}, "", "", nil, nil, "state"},
		{"old zone name made current", map[string]string{"phone": "+14155551234", "timezone": "US/Eastern"}, "+14155551234", "CA", []string{"America/New_York"}, map[string]string{}, ""},
		{"unknown zone", map[string]string{"phone": "+14155551234", "timezone": "Europe/Nowhere"}, "", "", nil, nil, "timezone"},
		{"phone given twice", map[string]string{"phone": "+14155551234", "primary_phone": "+14155551235"}, "", "", nil, nil, "primary_phone"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Normalize(c.in, parser, loc)
			if c.bad != "" {
				de, ok := err.(*dialerd.Error)
				if !ok || de.Fields[c.bad] == nil {
					t.Fatalf("error %v does not name %q", err, c.bad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Phone != c.phone || p.State != c.state || !reflect.DeepEqual(p.Timezones, c.zones) || !reflect.DeepEqual(p.Fields, c.fields) || p.Status != dialerd.ProspectUnresolved {
				t.Fatalf("got %+v", p)
			}
		})
	}
}

// Which alias of a column wins, and which custom fields are over the limit,
// must not depend on map order: the same values give the same prospect or
// the same errors every time.
func TestNormalizeIsDeterministic(t *testing.T) {
	parser, err := phone.NewParser("USCA")
	if err != nil {
		t.Fatal(err)
	}
	loc := dialerd.Locales["USCA"]
	many := map[string]string{"phone": "4155551234"}
	for i := 0; i < MaxCustomField+5; i++ {
		many[fmt.Sprintf("c%03d", i)] = "x"
	}
	for _, values := range []map[string]string{
		{"phone": "4155551234", "Phone Number": "2125550100", "primary_phone": "6045550199"},
		{"phone": "4155551234", "state": "CA", "Province": "BC", "first_name": "a", "FirstName": "b"},
		{"phone": "4155551234", "note": "1", " note": "2", "note ": "3"},
		{"phone": "\xff", "Phone": "4155551234"},
		many,
	} {
		first, firstErr := Normalize(values, parser, loc)
		for i := 0; i < 50; i++ {
			p, err := Normalize(values, parser, loc)
			if !reflect.DeepEqual(p, first) || !reflect.DeepEqual(err, firstErr) {
				t.Fatalf("%v: run %d gave %+v, %v; first %+v, %v", values, i, p, err, first, firstErr)
			}
		}
	}
}
