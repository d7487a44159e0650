package phone

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers"
)

var (
	seedFlag   = flag.Uint64("phone-seed", 0, "seed of the randomized phone tests (default: $DIALERD_SEED, else the time)")
	sampleFlag = flag.Int("phone-n", 0, "random numbers TestFastMatchesLibrary compares (default 200,000; 10,000 with -race or -short)")
	exhaustive = flag.Bool("phone-exhaustive", false, "run TestPrefixTablesSixDigitsDeep over every exchange (about 30 s on 2 cores)")
)

// testSeed returns the seed to replay (from -phone-seed or DIALERD_SEED) or
// a new one, and logs how to replay it.
func testSeed(t *testing.T) uint64 {
	t.Helper()
	seed := *seedFlag
	if seed == 0 {
		if env := os.Getenv("DIALERD_SEED"); env != "" {
			s, err := strconv.ParseUint(env, 10, 64)
			if err != nil {
				t.Fatalf("DIALERD_SEED=%q: %v", env, err)
			}
			seed = s
		}
	}
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d: replay with -phone-seed=%d or DIALERD_SEED=%d", seed, seed, seed)
	return seed
}

// nanpFormats are the ways the sample writes a national number (area code,
// exchange, line); every one of them is for the fast path.
var nanpFormats = []string{
	"%s%s%s", "(%s) %s-%s", "(%s)%s-%s", "%s-%s-%s", "%s.%s.%s", "%s %s %s",
	"1%s%s%s", "1-%s-%s-%s", "1 (%s) %s-%s", "1.%s.%s.%s",
	"+1%s%s%s", "+1 %s %s %s", "+1 (%s) %s-%s", "+1-%s-%s-%s", "+1.%s.%s.%s",
	"  %s-%s-%s ", "+ 1 %s %s %s", "%s-%s-%s.",
}

func formatNANP(r *rand.Rand, npa, nxx, line int) string {
	return fmt.Sprintf(nanpFormats[r.IntN(len(nanpFormats))], fmt.Sprintf("%03d", npa), fmt.Sprintf("%03d", nxx), fmt.Sprintf("%04d", line))
}

// TestFastMatchesLibrary is the differential test of the fast path: on a
// seeded sample of NANP numbers — random 10-digit numbers over area codes
// 200-999 and every exchange 000-999, plus every area code with six
// exchanges — Parse must answer exactly as the library alone (parseSlow):
// same E.164, region, state and zones, or the same error. The parser learns
// each exchange from a sibling (same exchange, another line and format)
// before the number is compared, so the comparison tests the reuse of an
// exchange's answer, not only the learning.
func TestFastMatchesLibrary(t *testing.T) {
	seed := testSeed(t)
	n := *sampleFlag
	if n == 0 {
		n = 200_000
		if raceEnabled || testing.Short() {
			n = 10_000
		}
	}
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	type pair struct{ sibling, number string }
	var sample []pair
	add := func(npa, nxx int) {
		line, other := r.IntN(10000), r.IntN(10000)
		sample = append(sample, pair{formatNANP(r, npa, nxx, other), formatNANP(r, npa, nxx, line)})
	}
	for range n {
		add(200+r.IntN(800), r.IntN(1000))
	}
	for npa := 200; npa <= 999; npa++ {
		for _, nxx := range []int{200, 555, 999, r.IntN(1000), r.IntN(1000), r.IntN(1000)} {
			add(npa, nxx)
		}
	}
	deep, err := nanpDepth()
	if err != nil {
		t.Fatal(err)
	}
	for ex := 200_000; ex < 1_000_000; ex++ {
		if deep.has(ex) {
			for range 20 {
				add(ex/1000, ex%1000)
			}
		}
	}

	p, err := NewParser("USCA")
	if err != nil {
		t.Fatal(err)
	}
	workers := runtime.GOMAXPROCS(0)
	var (
		mu                                sync.Mutex
		compared, fast, valid, mismatches int
		regions                           = map[string]int{}
	)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c, f, v, m int
			reg := map[string]int{}
			for i := w; i < len(sample); i += workers {
				for _, raw := range []string{sample[i].sibling, sample[i].number} {
					national, ok := nanpNational(raw)
					if !ok {
						t.Errorf("sample input %q is not for the fast path", raw)
						return
					}
					isFast := !deep.hasNumber(national)
					got, want := parsed(p, raw, false), parsed(p, raw, true)
					c++
					if isFast {
						f++
					}
					if got != want {
						m++
						if m <= 20 {
							t.Errorf("Parse(%q) = %s, the library alone says %s", raw, got, want)
						}
						continue
					}
					if raw == sample[i].number {
						if num, err := p.Parse(raw); err == nil {
							v++
							reg[num.Region]++
						}
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			compared, fast, valid, mismatches = compared+c, fast+f, valid+v, mismatches+m
			for k, x := range reg {
				regions[k] += x
			}
		}()
	}
	wg.Wait()
	t.Logf("%d numbers (%d random, %d for every area code and the deep exchanges), each after a sibling of its exchange: %d inputs compared (%d on the fast path, %d in deep exchanges), %d mismatches; %d valid in the locale %v",
		len(sample), n, len(sample)-n, compared, fast, compared-fast, mismatches, valid, regions)
}

// TestLibraryDataFitsTheLocale walks every area code with a spread of
// exchanges through the library and checks what the package's rules assume
// of its data: each geocoding string of a US or Canadian number names a
// region of the locale or is one of the known strings that name none, and
// each zone the library gives a valid number of the locale is a zone of the
// locale (else narrowZones would drop it: add it to regionZones).
func TestLibraryDataFitsTheLocale(t *testing.T) {
	p := mustParser()
	noState := map[string]bool{
		"United States":                       true, // non-geographic: toll-free, 5XX, 900
		"Canada":                              true, // non-geographic: 600, 622, 633
		"Nova Scotia/Prince Edward Island":    true, // 902 and 782 serve both
		"Northwest Territories/Nunavut/Yukon": true, // 867 serves all three
	}
	step := 7
	if raceEnabled || testing.Short() {
		step = 37
	}
	unknownGeo := map[string]string{}
	for npa := 200; npa <= 999; npa++ {
		for nxx := npa % step; nxx < 1000; nxx += step {
			cc, nn := int32(1), uint64(npa*10_000_000+nxx*10_000+1234)
			pn := &phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &nn}
			o := p.derive(pn)
			if o.err != nil {
				continue
			}
			if o.region == "US" || o.region == "CA" {
				geo, err := phonenumbers.GetGeocodingForNumber(pn, "en")
				if err != nil {
					t.Fatal(err)
				}
				if o.state == "" && !noState[geo] {
					unknownGeo[geo] = fmt.Sprintf("%03d-%03d", npa, nxx)
				}
			}
			zones, _ := phonenumbers.GetTimezonesForNumber(pn)
			if slices.Equal(zones, p.catchAll) {
				continue
			}
			for _, z := range zones {
				if _, ok := slices.BinarySearch(p.zones, z); !ok {
					t.Errorf("%03d-%03d-1234 (%s): library zone %s is not a zone of the locale", npa, nxx, o.region, z)
				}
			}
		}
	}
	for geo, ex := range unknownGeo {
		t.Errorf("geocoding string %q (exchange %s) maps to no state: add it to geocodingAliases or to this test's list", geo, ex)
	}
}

func TestNarrowZones(t *testing.T) {
	p := mustParser()
	all := strings.Join(p.zones, ",")
	for _, tc := range []struct {
		zones []string
		state string
		want  string
	}{
		{[]string{"America/Los_Angeles"}, "CA", "America/Los_Angeles"},
		{[]string{"America/Los_Angeles", "America/Boise"}, "ID", "America/Boise,America/Los_Angeles"},
		{[]string{"America/Puerto_Rico", "America/St_Johns"}, "NL", "America/Puerto_Rico,America/St_Johns"},
		{[]string{"America/Jamaica", "America/New_York"}, "NY", "America/New_York"}, // a zone outside the locale is dropped
		{[]string{"America/Jamaica"}, "NY", "America/New_York"},                     // nothing left: the state's zones
		{[]string{"America/Jamaica"}, "", all},                                      // no state either: every zone
		{p.catchAll, "TX", "America/Chicago,America/Denver"},                        // the library knows only the country
		{p.catchAll, "", all},
		{[]string{phonenumbers.UNKNOWN_TIMEZONE}, "AZ", "America/Denver,America/Phoenix"},
		{nil, "", all},
	} {
		if got := strings.Join(p.narrowZones(tc.zones, tc.state), ","); got != tc.want {
			t.Errorf("narrowZones(%v, %q) = %s, want %s", tc.zones, tc.state, got, tc.want)
		}
	}
}

// TestPrefixTablesSixDigitsDeep checks, for every exchange the library
// finds valid, that its geocoding and time zone tables give the same answer
// for every seventh and eighth digit: the +1 keys of both tables are at most
// six national digits long, which the fast path relies on. It walks 800,000
// exchanges × 100 endings, so it runs only with -phone-exhaustive.
func TestPrefixTablesSixDigitsDeep(t *testing.T) {
	if !*exhaustive {
		t.Skip("run with -phone-exhaustive")
	}
	p := mustParser()
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	checked := 0
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			for npa := 200 + w; npa <= 999; npa += workers {
				for nxx := range 1000 {
					ex := npa*1000 + nxx
					cc, nn := int32(1), uint64(ex)*10_000
					pn := &phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &nn}
					if p.derive(pn).err != nil {
						continue
					}
					n++
					prefix := "1" + strconv.Itoa(ex)
					tz, _ := phonenumbers.GetTimezonesForPrefix(prefix)
					geo, _ := phonenumbers.GetGeocodingForNumber(pn, "en")
					for dd := range 100 {
						tz2, _ := phonenumbers.GetTimezonesForPrefix(fmt.Sprintf("%s%02d", prefix, dd))
						nn2 := nn + uint64(dd)*100
						geo2, _ := phonenumbers.GetGeocodingForNumber(&phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &nn2}, "en")
						if !slices.Equal(tz, tz2) || geo != geo2 {
							t.Errorf("exchange %d: ending %02d gives %v %q, the exchange %v %q", ex, dd, tz2, geo2, tz, geo)
						}
					}
				}
			}
			mu.Lock()
			checked += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	t.Logf("%d valid exchanges checked", checked)
}
