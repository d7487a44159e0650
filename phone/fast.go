package phone

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nyaruka/phonenumbers"
)

// The fast path.
//
// phonenumbers.Parse with the validity check, the geocoding and the time
// zones costs about 20 µs a number, most of it regular expressions. What the
// library answers for a NANP number depends, for nearly every exchange, on
// its first six national digits only — the area code (NPA) and the exchange
// (NXX):
//
//   - validity and region: the NANP patterns of the library's metadata
//     decide on at most six leading digits, except at the few exchanges
//     depth.go finds by analysing the patterns (in v1.8.1 three: Barbados
//     246-521 and 246-522 and Jamaica 876-606, judged on a seventh digit);
//   - geocoding and time zones: the +1 keys of the library's prefix tables
//     are at most six national digits long (checked over every valid
//     exchange by TestPrefixTablesSixDigitsDeep with -phone-exhaustive).
//
// So the parser keeps, per exchange, the outcome of derive for the first
// number it sees there, and answers every later number of that exchange with
// it: a scan of the input, a table load and the E.164 string. The table is
// filled lazily because learning is cheap per exchange (one derive, about
// 10 µs) but not per area code: exchanges of one area code differ (split time
// zones such as 208 and 850, a 201 exchange geocoded New York, 902 and 867
// exchanges that name their province), so learning a whole area code would
// cost 1,000 derives, most of them for exchanges a list never uses. The
// outcomes are interned; the table holds at most one 8 KB page per area code
// (6.4 MB at worst).
//
// Only inputs made of ASCII digits and the separators " ()-." with an
// optional leading "+1", with 10 digits (or 11 starting with 1) and an area
// code starting 2-9, outside the deep exchanges, take the fast path; the
// library reads exactly these inputs as that national number (no
// country-code, extension or national-prefix ambiguity). Everything else
// goes to the library.
//
// TestFastMatchesLibrary compares both paths on a large seeded sample, with
// each exchange learnt from a different number than the one compared, and
// FuzzParse compares them on arbitrary input.

// maxFastInput bounds the inputs the fast path looks at; longer ones (spaces
// around a number, say) go to the library, whose limits then apply.
const maxFastInput = 40

// nanpNational returns the 10-digit national number of raw if raw is a
// well-formed NANP number as described above.
func nanpNational(raw string) (national uint64, ok bool) {
	if len(raw) > maxFastInput {
		return 0, false
	}
	s := strings.TrimLeft(raw, " ")
	plus := false
	if strings.HasPrefix(s, "+") {
		plus, s = true, s[1:]
	}
	var n, digits uint64
	var first byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if digits == 0 {
				first = c
			}
			digits++
			if digits > 11 {
				return 0, false
			}
			n = n*10 + uint64(c-'0')
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return 0, false
		}
	}
	switch {
	case digits == 11 && first == '1':
		n -= 1e10
	case digits == 10 && !plus:
	default:
		return 0, false
	}
	if n < 2e9 { // area code 0xx or 1xx
		return 0, false
	}
	return n, true
}

// parseNational answers for a 10-digit NANP national number from the
// exchange table, learning the exchange first if need be.
func (p *Parser) parseNational(national uint64) (Number, error) {
	o := p.exchanges.load(national)
	if o == nil {
		cc := int32(1)
		nn := national
		o = p.exchanges.store(national, p.derive(&phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &nn}))
	}
	if o.err != nil {
		return Number{}, o.err
	}
	return Number{E164: e164(national), Region: o.region, State: o.state, Timezones: o.zones}, nil
}

// e164 formats a NANP national number as "+1" and its ten digits.
func e164(national uint64) string {
	var b [12]byte
	b[0], b[1] = '+', '1'
	for i := 11; i >= 2; i-- {
		b[i] = byte('0' + national%10)
		national /= 10
	}
	return string(b[:])
}

// exchangeTable holds the outcome learnt for each exchange: one page per
// area code, allocated when the area code is first seen, of one pointer per
// exchange. Reads take no lock.
type exchangeTable struct {
	pages [800]atomic.Pointer[[1000]atomic.Pointer[outcome]] // area codes 200-999

	mu     sync.Mutex
	intern map[outcomeKey]*outcome
}

// outcomeKey identifies an outcome by value, for interning.
type outcomeKey struct {
	err                  string
	region, state, zones string
}

func (t *exchangeTable) slot(national uint64) *atomic.Pointer[outcome] {
	npa, nxx := national/1e7, national/1e4%1000
	page := t.pages[npa-200].Load()
	if page == nil {
		page = new([1000]atomic.Pointer[outcome])
		if !t.pages[npa-200].CompareAndSwap(nil, page) {
			page = t.pages[npa-200].Load()
		}
	}
	return &page[nxx]
}

func (t *exchangeTable) load(national uint64) *outcome {
	return t.slot(national).Load()
}

// store records o for the exchange of national and returns the interned
// copy. Two goroutines learning the same exchange at once store equal
// outcomes, so the race is harmless.
func (t *exchangeTable) store(national uint64, o outcome) *outcome {
	k := outcomeKey{region: o.region, state: o.state, zones: strings.Join(o.zones, ",")}
	if o.err != nil {
		k.err = o.err.Error()
	}
	t.mu.Lock()
	if t.intern == nil {
		t.intern = map[outcomeKey]*outcome{}
	}
	io, ok := t.intern[k]
	if !ok {
		io = &o
		t.intern[k] = io
	}
	t.mu.Unlock()
	t.slot(national).Store(io)
	return io
}
