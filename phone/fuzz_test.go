package phone

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// FuzzParse: Parse never panics and agrees with the library alone on every
// input; a number it accepts is in E.164 for the locale, parses again to
// itself, has a state of the locale or none, and sorted zones that load;
// every error is an *Error of a known kind with a message. The seed corpus is
// testdata/fuzz/FuzzParse plus the inputs of testdata/parse.txt.
func FuzzParse(f *testing.F) {
	for _, line := range readLines(f, "testdata/parse.txt") {
		if raw, err := strconv.Unquote(line); err == nil {
			f.Add(raw)
		}
	}
	p := mustParser()
	f.Fuzz(func(t *testing.T, raw string) {
		n, err := p.Parse(raw)
		if got, want := describe(p, n, err), parsed(p, raw, true); got != want {
			t.Fatalf("Parse(%q) = %s, the library alone says %s", raw, got, want)
		}
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Message == "" || !slices.ContainsFunc([]error{ErrEmpty, ErrInvalid, ErrLetters, ErrExtension, ErrOutsideLocale}, func(k error) bool { return errors.Is(err, k) }) {
				t.Fatalf("Parse(%q) error %v (%T) is not an *Error of a known kind", raw, err, err)
			}
			return
		}
		if len(n.E164) != 12 || !strings.HasPrefix(n.E164, "+1") || strings.Trim(n.E164[1:], "0123456789") != "" {
			t.Fatalf("Parse(%q).E164 = %q, not a +1 number in E.164", raw, n.E164)
		}
		if _, ok := p.regions[n.Region]; !ok {
			t.Fatalf("Parse(%q).Region = %q, not a region of the locale", raw, n.Region)
		}
		if n.State != "" && ZonesForRegion(n.State) == nil {
			t.Fatalf("Parse(%q).State = %q, not a region of the locale", raw, n.State)
		}
		if len(n.Timezones) == 0 || !slices.IsSorted(n.Timezones) {
			t.Fatalf("Parse(%q).Timezones = %v: empty or not sorted", raw, n.Timezones)
		}
		for _, z := range n.Timezones {
			if !ValidZone(z) {
				t.Fatalf("Parse(%q): zone %q does not load or is not of the locale", raw, z)
			}
		}
		again, err := p.Parse(n.E164)
		if err != nil {
			t.Fatalf("Parse(%q) = %s, which does not parse: %v", raw, n.E164, err)
		}
		if got, want := describe(p, again, nil), describe(p, n, nil); got != want {
			t.Fatalf("Parse(%q) = %s, but Parse(%q) = %s", raw, want, n.E164, got)
		}
	})
}
