package dialerd

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseDNCInput(t *testing.T) {
	many := `{"phone_numbers": [` + strings.TrimSuffix(strings.Repeat(`"2125550100",`, MaxDNCBatch+1), ",") + `]}`
	for _, tc := range []struct {
		body    string
		numbers []string
		field   string // the field an error names; "" when accepted
	}{
		{`{"phone_number": "(212) 555-0100"}`, []string{"(212) 555-0100"}, ""},
		{`{"phone_numbers": ["1", "2"], "reason": "asked on the phone", "workspace": "acme"}`, []string{"1", "2"}, ""},
		{`{}`, nil, "phone_number"},
		{`{"phone_number": "1", "phone_numbers": ["2"]}`, nil, "phone_numbers"},
		{`{"phone_numbers": []}`, nil, "phone_numbers"},
		{many, nil, "phone_numbers"},
		{`{"phone_number": 2125550100}`, nil, "phone_number"},
		{`{"phone_number": "1", "reason": "` + strings.Repeat("x", MaxDNCReasonLen+1) + `"}`, nil, "reason"},
		{`{"phone_number": "1", "reason": "a\u0000b"}`, nil, "reason"},
		{`{"phone_number": "1", "workspace": " "}`, nil, "workspace"},
		{`{"phone_number": "1", "source": "x"}`, nil, "source"},
	} {
		in, err := ParseDNCInput([]byte(tc.body))
		if tc.field == "" {
			if err != nil || fmt.Sprint(in.Numbers) != fmt.Sprint(tc.numbers) {
				t.Errorf("%.60s: %+v, %v", tc.body, in, err)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Code != EINVALID || e.Fields[tc.field] == nil {
			t.Errorf("%.60s: want an error naming %q, got %v", tc.body, tc.field, err)
		}
	}
	if _, err := ParseDNCInput([]byte(`{"phone_number": "1"} x`)); ErrorCode(err) != EINVALID {
		t.Errorf("trailing data: %v", err)
	}
}

func TestDNCWorkspace(t *testing.T) {
	acme, admin := "acme", Principal{Admin: true}
	other := "other"
	for _, tc := range []struct {
		p     Principal
		named *string
		want  string
		code  string
	}{
		{admin, nil, "", ""},
		{admin, &acme, "acme", ""},
		{Principal{Workspaces: []string{"acme"}}, nil, "acme", ""},
		{Principal{Workspaces: []string{"acme"}}, &acme, "acme", ""},
		{Principal{Workspaces: []string{"acme"}}, &other, "", EFORBIDDEN},
		{Principal{Workspaces: []string{"acme", "other"}}, nil, "", EINVALID},
		{Principal{}, nil, "", EINVALID},
	} {
		got, err := DNCWorkspace(tc.p, tc.named)
		if got != tc.want || ErrorCode(err) != tc.code && !(tc.code == "" && err == nil) {
			t.Errorf("%+v %v: %q, %v", tc.p, tc.named, got, err)
		}
	}
}

// FuzzParseDNCInput: no panic; an error is EINVALID naming fields; an
// accepted body has 1 to MaxDNCBatch numbers and a reason within bounds.
func FuzzParseDNCInput(f *testing.F) {
	for _, s := range []string{`{"phone_number": "2125550100"}`, `{"phone_numbers": ["1","2"], "reason": "x", "workspace": null}`, `{}`, `[]`, `{"phone_number": "1", "phone_number": "2"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := ParseDNCInput(body)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != EINVALID {
				t.Fatalf("error %#v", err)
			}
			return
		}
		if len(in.Numbers) == 0 || len(in.Numbers) > MaxDNCBatch || len(in.Reason) > MaxDNCReasonLen {
			t.Fatalf("accepted %+v", in)
		}
	})
}
