package phone

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialerd/dialerd"
	"github.com/nyaruka/phonenumbers"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expectations of testdata/parse.txt with the current answers")

// mustParser returns the USCA parser; tests share one, as the server does.
var mustParser = sync.OnceValue(func() *Parser {
	p, err := NewParser("USCA")
	if err != nil {
		panic(err)
	}
	return p
})

// describe renders a Parse result on one line, as testdata/parse.txt has it:
// "E164 Region State Zones" with "-" for no state and "*" for every zone of
// the locale, or "error(Kind): message".
func describe(p *Parser, n Number, err error) string {
	if err != nil {
		kind := "?"
		for name, k := range map[string]error{"ErrEmpty": ErrEmpty, "ErrInvalid": ErrInvalid, "ErrLetters": ErrLetters, "ErrExtension": ErrExtension, "ErrOutsideLocale": ErrOutsideLocale} {
			if errors.Is(err, k) {
				kind = name
			}
		}
		return fmt.Sprintf("error(%s): %s", kind, err)
	}
	state := n.State
	if state == "" {
		state = "-"
	}
	zones := strings.Join(n.Timezones, ",")
	if slices.Equal(n.Timezones, p.zones) {
		zones = "*"
	}
	return fmt.Sprintf("%s %s %s %s", n.E164, n.Region, state, zones)
}

// TestParseData runs the cases of testdata/parse.txt: a Go-quoted input on
// one line, the expected result (see describe) on the next; '#' lines are
// comments. Each input goes through Parse and through the library alone, and
// both must give the expected result. -rewrite refreshes the expectations
// (review the diff: it is the specification).
func TestParseData(t *testing.T) {
	const path = "testdata/parse.txt"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := mustParser()
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		raw, err := strconv.Unquote(line)
		if err != nil {
			t.Fatalf("%s:%d: input must be a Go-quoted string: %v", path, i+1, err)
		}
		if i+1 >= len(lines) {
			t.Fatalf("%s:%d: no expectation after %s", path, i+1, line)
		}
		i++
		fast, slow := parsed(p, raw, false), parsed(p, raw, true)
		if fast != slow {
			t.Errorf("%s:%d: Parse(%q) = %s, the library alone says %s", path, i, raw, fast, slow)
		}
		if *rewrite {
			lines[i] = slow
			continue
		}
		if want := lines[i]; fast != want {
			t.Errorf("%s:%d: Parse(%q)\n got %s\nwant %s", path, i, raw, fast, want)
		}
	}
	if *rewrite {
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// parsed is describe of Parse(raw), or of the library alone when slow.
func parsed(p *Parser, raw string, slow bool) string {
	parse := p.Parse
	if slow {
		parse = p.parseSlow
	}
	n, err := parse(raw)
	return describe(p, n, err)
}

func TestParseErrorsAreTyped(t *testing.T) {
	p := mustParser()
	for _, tc := range []struct {
		raw  string
		kind error
	}{
		{"", ErrEmpty},
		{" \t ", ErrEmpty},
		{"415-555-123", ErrInvalid},
		{"211-555-1234", ErrInvalid},
		{"hello", ErrInvalid},
		{"415-555-CALL", ErrLetters},
		{"415-555-1234 x12", ErrExtension},
		{"+44 20 7946 0958", ErrOutsideLocale},
		{"+1 876 927 1234", ErrOutsideLocale},
	} {
		_, err := p.Parse(tc.raw)
		var pe *Error
		if !errors.Is(err, tc.kind) || !errors.As(err, &pe) || pe.Message == "" {
			t.Errorf("Parse(%q) error = %v, want an *Error of kind %v", tc.raw, err, tc.kind)
		}
	}
}

func TestNewParser(t *testing.T) {
	if _, err := NewParser("USCA"); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"", "usca", "EU", "UK"} {
		if _, err := NewParser(l); err == nil {
			t.Errorf("NewParser(%q) succeeded", l)
		}
	}
	// Every locale the package knows the numbers of is a locale of the root
	// package, and its territories are regions of it.
	for name, cfg := range localeConfigs {
		loc, ok := dialerd.Locales[name]
		if !ok {
			t.Errorf("locale %s is not in dialerd.Locales", name)
			continue
		}
		for _, tr := range cfg.territories {
			if _, ok := loc.Regions[tr]; !ok {
				t.Errorf("locale %s: territory %s is not one of its regions", name, tr)
			}
		}
	}
}

// TestParseConcurrent parses from many goroutines at once (for -race): the
// exchange table is learnt and read concurrently.
func TestParseConcurrent(t *testing.T) {
	p, err := NewParser("USCA")
	if err != nil {
		t.Fatal(err)
	}
	inputs := []string{"(415) 555-1234", "208-334-1234", "+1 850 230 1234", "1-800-555-1234", "787-555-1234", "+44 20 7946 0958", "211-555-1234"}
	want := make([]string, len(inputs))
	for i, in := range inputs {
		want[i] = parsed(p, in, true)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				k := (g + i) % len(inputs)
				if got := parsed(p, inputs[k], false); got != want[k] {
					t.Errorf("Parse(%q) = %s, want %s", inputs[k], got, want[k])
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestZonesForRegion(t *testing.T) {
	for _, tc := range []struct {
		code string
		want []string
	}{
		{"TX", []string{"America/Chicago", "America/Denver"}},
		{"CA", []string{"America/Los_Angeles"}},
		{"AZ", []string{"America/Denver", "America/Phoenix"}},
		{"IN", []string{"America/Chicago", "America/Indiana/Indianapolis", "America/Indiana/Knox", "America/Indiana/Marengo", "America/Indiana/Petersburg", "America/Indiana/Tell_City", "America/Indiana/Vevay", "America/Indiana/Vincennes", "America/Indiana/Winamac"}},
		{"ID", []string{"America/Boise", "America/Los_Angeles"}},
		{"FL", []string{"America/Chicago", "America/New_York"}},
		{"PR", []string{"America/Puerto_Rico"}},
		{"ON", []string{"America/Atikokan", "America/Toronto", "America/Winnipeg"}},
		{"NL", []string{"America/Goose_Bay", "America/St_Johns"}},
		{"tx", nil},
		{"XX", nil},
		{"", nil},
	} {
		if got := ZonesForRegion(tc.code); !slices.Equal(got, tc.want) {
			t.Errorf("ZonesForRegion(%q) = %v, want %v", tc.code, got, tc.want)
		}
	}
}

// TestRegionZonesTable checks the data: it covers exactly the regions of the
// USCA locale, each list is sorted without duplicates, and every zone loads.
func TestRegionZonesTable(t *testing.T) {
	loc := dialerd.Locales["USCA"]
	for code := range loc.Regions {
		if len(regionZones[code]) == 0 {
			t.Errorf("region %s of USCA has no zones", code)
		}
	}
	for code, zones := range regionZones {
		if _, ok := loc.Regions[code]; !ok {
			t.Errorf("regionZones has %s, which is not a region of USCA", code)
		}
		if !slices.IsSorted(zones) || len(slices.Compact(slices.Clone(zones))) != len(zones) {
			t.Errorf("regionZones[%s] = %v: not sorted or has duplicates", code, zones)
		}
		for _, z := range zones {
			if _, err := time.LoadLocation(z); err != nil {
				t.Errorf("regionZones[%s]: %v", code, err)
			}
		}
	}
	for alias, z := range zoneAliases {
		if _, err := time.LoadLocation(alias); err != nil {
			t.Errorf("zoneAliases: %v", err)
		}
		if _, ok := slices.BinarySearch(localeZones(), z); !ok {
			t.Errorf("zoneAliases[%s] = %s, not a zone of the locale", alias, z)
		}
	}
}

func TestValidZone(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ok        bool
		canonical string
	}{
		{"America/New_York", true, "America/New_York"},
		{"America/Indiana/Tell_City", true, "America/Indiana/Tell_City"},
		{"Pacific/Guam", true, "Pacific/Guam"},
		{"America/St_Johns", true, "America/St_Johns"},
		{"US/Eastern", true, "America/New_York"},
		{"Canada/Pacific", true, "America/Vancouver"},
		{"America/Montreal", true, "America/Toronto"},
		{"Europe/London", false, ""},   // a real zone, not of the locale
		{"America/Jamaica", false, ""}, // NANP, not of the locale
		{"America/Mexico_City", false, ""},
		{"UTC", false, ""},
		{"Local", false, ""},
		{"", false, ""},
		{"america/new_york", false, ""},
		{"America/New_York ", false, ""},
		{"EST", false, ""},
		{"Mars/Olympus_Mons", false, ""},
		{"../../etc/passwd", false, ""},
	} {
		if got := ValidZone(tc.name); got != tc.ok {
			t.Errorf("ValidZone(%q) = %v, want %v", tc.name, got, tc.ok)
		}
		if got, ok := CanonicalZone(tc.name); ok != tc.ok || got != tc.canonical {
			t.Errorf("CanonicalZone(%q) = %q, %v, want %q, %v", tc.name, got, ok, tc.canonical, tc.ok)
		}
	}
	for _, z := range localeZones() {
		if !ValidZone(z) {
			t.Errorf("ValidZone(%q) = false for a zone of the locale", z)
		}
	}
}

// TestStateOf covers every shape of geocoding string the library gives for
// US and Canadian numbers.
func TestStateOf(t *testing.T) {
	p := mustParser()
	for _, tc := range []struct{ country, geo, want string }{
		{"US", "New York, NY", "NY"},
		{"US", "Boise, ID", "ID"},
		{"US", "Idaho", "ID"},
		{"US", "Washington State", "WA"},
		{"US", "Washington D.C.", "DC"},
		{"US", "Washington, DC", "DC"},
		{"US", "United States", ""},
		{"US", "Toronto, ON", ""}, // a Canadian code for a US number
		{"US", "Ontario", ""},
		{"CA", "Ontario", "ON"},
		{"CA", "Montreal, QC", "QC"},
		{"CA", "Quebec", "QC"},
		{"CA", "British Columbia", "BC"},
		{"CA", "British Colombia", "BC"},
		{"CA", "Newfoundland and Labrador", "NL"},
		{"CA", "Nova Scotia/Prince Edward Island", ""},
		{"CA", "Northwest Territories/Nunavut/Yukon", ""},
		{"CA", "Watson Lake", "YT"},
		{"CA", "Canada", ""},
		{"CA", "San Francisco, CA", ""}, // California, not Canada
		{"US", "", ""},
	} {
		if got := p.stateOf(tc.country, tc.geo); got != tc.want {
			t.Errorf("stateOf(%s, %q) = %q, want %q", tc.country, tc.geo, got, tc.want)
		}
	}
}

func TestNANPNational(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want uint64 // 0: not for the fast path
	}{
		{"4155551234", 4155551234},
		{"(415) 555-1234", 4155551234},
		{"415.555.1234", 4155551234},
		{"+1 415 555 1234", 4155551234},
		{"14155551234", 4155551234},
		{"1-415-555-1234", 4155551234},
		{"  +1 (415) 555-1234", 4155551234},
		{"+ 1 415 555 1234", 4155551234},
		{"2002000000", 2002000000},
		{"+4155551234", 0},      // "+" then a country code other than 1
		{"+44 20 7946 0958", 0}, // not NANP
		{"1415555123", 0},       // 10 digits starting with 1
		{"0415555123", 0},
		{"1234567890", 0},
		{"11234567890", 0}, // area code 123
		{"415555123", 0},
		{"415-555-12345", 0},
		{"24155551234", 0}, // 11 digits not starting with 1
		{"141555512345", 0},
		{"415 555 1234\t", 0},
		{"415/555/1234", 0},
		{"415-555-1234 x1", 0},
		{"++14155551234", 0},
		{"1+4155551234", 0},
		{"４１５５５５１２３４", 0},
		{"", 0},
		{"(415) 555-1234" + strings.Repeat(" ", 40), 0},
	} {
		got, ok := nanpNational(tc.raw)
		if ok != (tc.want != 0) || got != tc.want {
			t.Errorf("nanpNational(%q) = %d, %v, want %d", tc.raw, got, ok, tc.want)
		}
	}
}

func TestE164(t *testing.T) {
	for _, n := range []uint64{2000000000, 4155551234, 9999999999} {
		if got, want := e164(n), "+1"+strconv.FormatUint(n, 10); got != want {
			t.Errorf("e164(%d) = %s, want %s", n, got, want)
		}
	}
}

// readLines is for tests that keep inputs in testdata: non-empty lines that
// are not comments.
func readLines(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestNANPDepth checks the analysis of the library's NANP patterns: it
// succeeds, finds the Barbados exchanges known to be judged on a seventh
// digit, and finds none where an area code of the locale is decided by
// later digits.
func TestNANPDepth(t *testing.T) {
	start := time.Now()
	deep, err := nanpDepth()
	if err != nil {
		t.Fatal(err)
	}
	var list []int
	for ex := 200_000; ex < 1_000_000; ex++ {
		if deep.has(ex) {
			list = append(list, ex)
		}
	}
	t.Logf("%d deep exchanges (analysis %v): %v", len(list), time.Since(start), list)
	for _, ex := range []int{246_521, 246_522} {
		if !deep.has(ex) {
			t.Errorf("exchange %d not found deep: Barbados lists 246521[0369] and 24652(?:1[147]|20)", ex)
		}
	}
	for _, ex := range []int{415_555, 208_334, 850_230, 787_555, 800_555, 246_520} {
		if deep.has(ex) {
			t.Errorf("exchange %d found deep", ex)
		}
	}
}

// TestDigitAutomatonMatchesRegexp holds the automaton of depth.go to the
// regexp package on every NANP pattern of the library, for random and
// pattern-adjacent digit strings: the analysis is only as right as this.
func TestDigitAutomatonMatchesRegexp(t *testing.T) {
	seed := testSeed(t)
	r := rand.New(rand.NewPCG(seed, seed^0xa070))
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		t.Fatal(err)
	}
	patterns := []string{`[2-9]\d{9}`, `246521[0369]\d{3}`, `(?:787|939)\d*`, `NA`, ``}
	for _, md := range coll.Metadata {
		if md.GetCountryCode() != 1 {
			continue
		}
		patterns = append(patterns, "(?:"+md.GetLeadingDigits()+`)\d*`)
		for _, d := range []*phonenumbers.PhoneNumberDesc{md.GetGeneralDesc(), md.GetFixedLine(), md.GetMobile(), md.GetTollFree(), md.GetPremiumRate(), md.GetPersonalNumber(), md.GetVoip(), md.GetUan()} {
			patterns = append(patterns, d.GetNationalNumberPattern())
		}
	}
	for _, p := range patterns {
		a, err := newDigitAutomaton(p)
		if err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile(`^(?:` + p + `)$`)
		for range 2000 {
			// Half the strings start with a random area code of the
			// pattern's own digits to reach its deeper branches.
			var b [nationalLen]byte
			for i := range b {
				b[i] = byte('0' + r.IntN(10))
			}
			if lit := strings.TrimLeft(p, "(?:"); r.IntN(2) == 0 && len(lit) >= 3 && lit[0] >= '0' && lit[0] <= '9' && lit[1] >= '0' && lit[1] <= '9' && lit[2] >= '0' && lit[2] <= '9' {
				copy(b[:], lit[:3])
			}
			s := string(b[:])
			set := slices.Sorted(slices.Values(a.closure(nil, uint32(a.prog.Start), 0)))
			for i := range nationalLen {
				set = a.step(set, rune(s[i]), i)
			}
			if got, want := a.matches(set), re.MatchString(s); got != want {
				t.Errorf("pattern %q on %s: automaton %v, regexp %v", p, s, got, want)
			}
		}
	}
}
