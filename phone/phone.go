package phone

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/dialerd/dialerd"
	"github.com/nyaruka/phonenumbers"
)

// Number is a normalised phone number and what it tells about where the
// person is.
type Number struct {
	E164   string // "+14155551234"
	Region string // ISO 3166-1 alpha-2 of the number: "US", "CA", "PR", ...
	// State is the two-letter state, province or territory code of the
	// locale the number belongs to, "" when the number does not say
	// (toll-free and other non-geographic numbers, area codes shared by
	// several provinces such as 902 and 867).
	State string
	// Timezones are the IANA zones the number may be in, sorted: one for
	// most numbers, several for exchanges the library places in more than
	// one zone, the zones of State when the library only knows the country,
	// and every zone of the locale for toll-free and other non-geographic
	// numbers. The slice is shared between numbers: do not modify it.
	Timezones []string
}

// Errors Parse returns wrap one of these (test with errors.Is); their
// messages say why in words fit for a user ("not a valid phone number (too
// few digits)", "not a US/Canada number (GB)").
var (
	// ErrEmpty: the input holds nothing but white space.
	ErrEmpty = errors.New("no phone number")
	// ErrInvalid: not a phone number, or not a valid one (wrong length,
	// area code or exchange that does not exist, N11 codes, ...).
	ErrInvalid = errors.New("not a valid phone number")
	// ErrLetters: the input has letters other than an extension marker.
	// Vanity numbers (1-800-FLOWERS) are rejected too: a prospect list holds
	// people's numbers, and letters there are almost always damage.
	ErrLetters = errors.New("phone number contains letters")
	// ErrExtension: the number has an extension ("x123", "ext. 4"), which
	// the dialer cannot dial; the row is rejected rather than dialled at the
	// switchboard.
	ErrExtension = errors.New("phone number has an extension, which cannot be dialled")
	// ErrOutsideLocale: a valid number of a country outside the locale.
	ErrOutsideLocale = errors.New("number outside the locale")
)

// Error is the error Parse returns: Kind is one of the Err values above,
// Message the text shown to users.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Kind }

func newError(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

var (
	errEmpty     = &Error{Kind: ErrEmpty, Message: ErrEmpty.Error()}
	errInvalid   = &Error{Kind: ErrInvalid, Message: ErrInvalid.Error()}
	errLetters   = &Error{Kind: ErrLetters, Message: ErrLetters.Error()}
	errExtension = &Error{Kind: ErrExtension, Message: ErrExtension.Error()}
)

// localeConfig is what the phone package needs to know of a locale beyond
// dialerd.Locales: which regions of the number plan belong to it.
type localeConfig struct {
	label string // for messages: "not a US/Canada number"
	// defaultRegion is the region numbers without a country code are read in.
	defaultRegion string
	// countries are the library regions whose numbers map to a state or
	// province of the locale through the geocoding data.
	countries []string
	// territories are the library regions that are themselves a region of
	// the locale (Puerto Rico, ...): State is the region code.
	territories []string
}

var localeConfigs = map[string]localeConfig{
	"USCA": {
		label:         "US/Canada",
		defaultRegion: "US",
		countries:     []string{"US", "CA"},
		territories:   []string{"PR", "VI", "GU", "AS", "MP"},
	},
}

// geocodingAliases are the library's English geocoding strings (v1.8.1) that
// name one region but not by the locale's name for it.
var geocodingAliases = map[string]string{
	"Washington State": "WA",
	"Washington D.C.":  "DC",
	"British Colombia": "BC", // sic: area code 257
	"Watson Lake":      "YT", // an exchange of 867, named without its territory
}

// Parser parses numbers for a locale. It is safe for concurrent use; share
// one: it learns the answer for each exchange (area code and the next three
// digits) the first time it sees it.
type Parser struct {
	cfg       localeConfig
	regions   map[string]string // library region → the country of the locale it counts as
	names     map[string]string // region name (locale and library spellings) → code, per country: "US/Texas" → "TX"
	codes     map[string]string // region code → its country: "TX" → "US"
	catchAll  []string          // the library's zones for a +1 number it knows nothing of
	zones     []string          // every zone of the locale
	deep      *exchangeSet      // exchanges the fast path leaves to the library; nil: all of them
	exchanges exchangeTable
}

// NewParser returns a Parser for a locale of dialerd.Locales that the package
// knows the number plan of ("USCA": the United States, Canada, Puerto Rico,
// the US Virgin Islands, Guam, American Samoa and the Northern Mariana
// Islands).
func NewParser(locale string) (*Parser, error) {
	loc, ok := dialerd.Locales[locale]
	cfg, known := localeConfigs[locale]
	if !ok || !known {
		return nil, fmt.Errorf("phone: unknown locale %q", locale)
	}
	p := &Parser{
		cfg:     cfg,
		regions: map[string]string{},
		names:   map[string]string{},
		codes:   map[string]string{},
		zones:   localeZones(),
	}
	for _, c := range cfg.countries {
		p.regions[c] = c
	}
	for _, t := range cfg.territories {
		r, ok := loc.Regions[t]
		if !ok {
			return nil, fmt.Errorf("phone: territory %s is not a region of locale %s", t, locale)
		}
		p.regions[t] = r.Country
	}
	for _, r := range loc.Regions {
		p.names[r.Country+"/"+r.Name] = r.Code
		p.codes[r.Code] = r.Country
	}
	for name, code := range geocodingAliases {
		if r, ok := loc.Regions[code]; ok {
			p.names[r.Country+"/"+name] = code
		}
	}
	catchAll, err := phonenumbers.GetTimezonesForPrefix("1")
	if err != nil {
		return nil, fmt.Errorf("phone: time zone data: %w", err)
	}
	p.catchAll = catchAll
	// Without the analysis of the library's patterns the fast path cannot
	// know which exchanges it may answer for: every number then takes the
	// slow path, correct but slow. TestNANPDepth fails in that case.
	p.deep, _ = nanpDepth()
	return p, nil
}

// maxInput bounds what Parse reads; the library itself refuses more than 250
// bytes.
const maxInput = 250

// Parse normalises raw for the locale. It takes the common ways of writing a
// number ("(415) 555-1234", "415.555.1234", "+1 415 555 1234",
// "14155551234", full-width or other Unicode digits) and rejects:
//   - an empty input (ErrEmpty);
//   - anything the library cannot read as a valid number: wrong length,
//     an area code or exchange that does not exist, N11 codes, a
//     7-digit number without its area code (ErrInvalid);
//   - an extension, "x123" or "ext. 4" (ErrExtension): it cannot be dialled;
//   - letters, vanity numbers included (ErrLetters);
//   - a valid number of a country outside the locale, +44… or a Caribbean
//     +1 number for USCA (ErrOutsideLocale).
//
// Well-formed 10- or 11-digit NANP numbers take a fast path that answers from
// what the parser learnt of their exchange; the answers are exactly those of
// the library (see fast.go and the differential test).
func (p *Parser) Parse(raw string) (Number, error) {
	if national, ok := nanpNational(raw); ok && p.deep != nil && !p.deep.hasNumber(national) {
		return p.parseNational(national)
	}
	return p.parseSlow(raw)
}

// parseSlow is Parse through the library alone.
func (p *Parser) parseSlow(raw string) (Number, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return Number{}, errEmpty
	}
	if len(s) > maxInput {
		return Number{}, newError(ErrInvalid, "%s (too long)", ErrInvalid)
	}
	pn, err := phonenumbers.Parse(s, p.cfg.defaultRegion)
	if err != nil {
		return Number{}, parseError(err)
	}
	if pn.GetExtension() != "" {
		return Number{}, errExtension
	}
	if strings.IndexFunc(s, unicode.IsLetter) >= 0 {
		return Number{}, errLetters
	}
	o := p.derive(pn)
	if o.err != nil {
		return Number{}, o.err
	}
	return Number{E164: phonenumbers.Format(pn, phonenumbers.E164), Region: o.region, State: o.state, Timezones: o.zones}, nil
}

// parseError turns an error of phonenumbers.Parse into ours.
func parseError(err error) error {
	switch err {
	case phonenumbers.ErrTooShortNSN, phonenumbers.ErrTooShortAfterIDD:
		return newError(ErrInvalid, "%s (too few digits)", ErrInvalid)
	case phonenumbers.ErrNumTooLong:
		return newError(ErrInvalid, "%s (too many digits)", ErrInvalid)
	case phonenumbers.ErrInvalidCountryCode:
		return newError(ErrInvalid, "%s (unknown country code)", ErrInvalid)
	}
	return errInvalid
}

// outcome is what a number's digits say, once the library has looked at
// them: an error, or the region, state and zones.
type outcome struct {
	err    error
	region string
	state  string
	zones  []string
}

// derive is the library's verdict on a parsed number, with the package's
// rules on top (region of the locale, 10-digit national numbers, state from
// the geocoding string, zones narrowed to the locale). It depends only on the
// country code and the national number: for NANP numbers only on their first
// six digits, which is what lets the fast path reuse it per exchange.
func (p *Parser) derive(pn *phonenumbers.PhoneNumber) outcome {
	// IsValidNumber is exactly this, with one region look-up less.
	region := phonenumbers.GetRegionCodeForNumber(pn)
	if !phonenumbers.IsValidNumberForRegion(pn, region) {
		switch phonenumbers.IsPossibleNumberWithReason(pn) {
		case phonenumbers.TOO_SHORT:
			return outcome{err: newError(ErrInvalid, "%s (too few digits)", ErrInvalid)}
		case phonenumbers.TOO_LONG:
			return outcome{err: newError(ErrInvalid, "%s (too many digits)", ErrInvalid)}
		case phonenumbers.INVALID_LENGTH:
			return outcome{err: newError(ErrInvalid, "%s (wrong number of digits)", ErrInvalid)}
		case phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
			return outcome{err: newError(ErrInvalid, "%s (missing area code)", ErrInvalid)}
		case phonenumbers.INVALID_COUNTRY_CODE:
			return outcome{err: newError(ErrInvalid, "%s (unknown country code)", ErrInvalid)}
		}
		return outcome{err: errInvalid}
	}
	country, ok := p.regions[region]
	if !ok {
		return outcome{err: newError(ErrOutsideLocale, "not a %s number (%s)", p.cfg.label, region)}
	}
	if len(phonenumbers.GetNationalSignificantNumber(pn)) != 10 {
		// Canada's 310-xxxx numbers are valid 7-digit numbers to the
		// library; to a prospect list they are a number without its area
		// code, and their zones and state would be those of area code 310.
		return outcome{err: newError(ErrInvalid, "%s (missing area code)", ErrInvalid)}
	}
	o := outcome{region: region}
	if slices.Contains(p.cfg.territories, region) {
		o.state = region
	} else {
		geo, err := phonenumbers.GetGeocodingForNumber(pn, "en")
		if err == nil {
			o.state = p.stateOf(country, geo)
		}
	}
	zones, err := phonenumbers.GetTimezonesForNumber(pn)
	if err != nil {
		zones = nil
	}
	o.zones = p.narrowZones(zones, o.state)
	return o
}

// stateOf maps a geocoding string of the library to a region code of the
// locale in country: "Boise, ID" and "Idaho" → "ID". Strings that name no
// single region ("United States", "Nova Scotia/Prince Edward Island") give "".
func (p *Parser) stateOf(country, geo string) string {
	if i := strings.LastIndex(geo, ", "); i >= 0 {
		code := geo[i+2:]
		if p.codes[code] == country {
			return code
		}
		return ""
	}
	return p.names[country+"/"+geo]
}

// narrowZones keeps the library's zones that the locale uses; when the
// library knows only the country (its answer for a bare "+1") or nothing of
// use, the zones of the state stand in, and without a state every zone of the
// locale. The result is sorted.
func (p *Parser) narrowZones(zones []string, state string) []string {
	var out []string
	if !slices.Equal(zones, p.catchAll) {
		for _, z := range zones {
			if _, ok := slices.BinarySearch(p.zones, z); ok {
				out = append(out, z)
			}
		}
	}
	if len(out) == 0 {
		if zs := ZonesForRegion(state); len(zs) > 0 {
			return zs
		}
		return p.zones
	}
	slices.Sort(out)
	return slices.Clip(slices.Compact(out))
}
