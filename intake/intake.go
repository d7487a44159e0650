// Package intake turns what a client sends about a prospect — form fields,
// a JSON object, a CSV row — into a Prospect: canonical columns, a phone
// number in E.164, and the state and time zones to dial it by (explicit
// columns first, validated; else from the number).
package intake

import (
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/phone"
)

// Limits on one prospect's fields.
const (
	MaxFieldLen    = 1000
	MaxCustomField = 100
)

// parsers keeps one phone parser per locale: they cache what they learn.
var parsers sync.Map // locale → *phone.Parser

// ParserFor returns the shared phone parser of a locale.
func ParserFor(locale string) (*phone.Parser, error) {
	if p, ok := parsers.Load(locale); ok {
		return p.(*phone.Parser), nil
	}
	p, err := phone.NewParser(locale)
	if err != nil {
		return nil, err
	}
	actual, _ := parsers.LoadOrStore(locale, p)
	return actual.(*phone.Parser), nil
}

// columns are the canonical columns, in the order seen arrays use.
var columns = [...]string{dialerd.ColPhone, dialerd.ColFirstName, dialerd.ColLastName, dialerd.ColEmail, dialerd.ColState, dialerd.ColZip, dialerd.ColTimezone}

func columnIndex(col string) int {
	for i, c := range columns {
		if c == col {
			return i
		}
	}
	return -1
}

// Normalize builds a prospect from named values (column or field name →
// value). Unknown names become custom fields. Errors are per field.
//
// It runs for every row of an upload, so it avoids work that only matters
// in rare cases: names are visited in sorted order (which decides which of
// two aliases of one column wins, and which custom fields are over the
// limit) only when such a case is present.
func Normalize(values map[string]string, parser *phone.Parser, loc *dialerd.Locale) (dialerd.Prospect, error) {
	ordered, customs := orderMatters(values)
	b := newBuilder(customs)
	if ordered {
		names := make([]string, 0, len(values))
		for k := range values {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, name := range names {
			b.take(name, dialerd.CanonicalColumn(name), values[name])
		}
	} else {
		for name, v := range values {
			b.take(name, dialerd.CanonicalColumn(name), v)
		}
	}
	return b.finish(parser, loc)
}

// builder accumulates one prospect's fields.
type builder struct {
	p            dialerd.Prospect
	fe           dialerd.FieldErrors
	rawPhone, tz string
	seen         [len(columns)]string // the name that gave each column
}

func newBuilder(customs int) *builder {
	return &builder{p: dialerd.Prospect{ProspectData: dialerd.ProspectData{
		Fields: make(map[string]string, min(customs, MaxCustomField)), Status: dialerd.ProspectUnresolved}}}
}

func (b *builder) addErr(field, msg string) {
	if b.fe == nil {
		b.fe = dialerd.FieldErrors{}
	}
	b.fe.Add(field, msg)
}

// take adds the value of a field; col is its canonical column, "" for a
// custom field.
func (b *builder) take(name, col, value string) {
	v := strings.TrimSpace(value)
	if !utf8.ValidString(v) || len(v) > MaxFieldLen {
		b.addErr(name, "Must be UTF-8 text of at most 1000 bytes.")
		return
	}
	p := &b.p
	if col == "" {
		if len(p.Fields) >= MaxCustomField {
			b.addErr(name, "Too many custom fields (at most 100).")
			return
		}
		p.Fields[strings.TrimSpace(name)] = v
		return
	}
	i := columnIndex(col)
	if prev := b.seen[i]; prev != "" {
		b.addErr(name, "Given twice (also as "+prev+").")
		return
	}
	b.seen[i] = name
	switch col {
	case dialerd.ColPhone:
		b.rawPhone = v
	case dialerd.ColFirstName:
		p.FirstName = v
	case dialerd.ColLastName:
		p.LastName = v
	case dialerd.ColEmail:
		p.Email = v
	case dialerd.ColState:
		p.State = strings.ToUpper(v)
	case dialerd.ColZip:
		p.Zip = v
	case dialerd.ColTimezone:
		b.tz = v
	}
}

// finish parses the number and settles the state and time zones.
func (b *builder) finish(parser *phone.Parser, loc *dialerd.Locale) (dialerd.Prospect, error) {
	p, tz := &b.p, b.tz
	seenName := func(col string) string { return b.seen[columnIndex(col)] }
	phoneField := seenName(dialerd.ColPhone)
	if phoneField == "" {
		phoneField = dialerd.ColPhone
	}
	var num phone.Number
	if b.rawPhone == "" {
		b.addErr(phoneField, "This field is required.")
	} else if n, err := parser.Parse(b.rawPhone); err != nil {
		b.addErr(phoneField, err.Error())
	} else {
		num = n
		p.Phone = n.E164
	}
	if p.State != "" {
		if _, ok := loc.Regions[p.State]; !ok {
			b.addErr(seenName(dialerd.ColState), "Unknown state or province code for "+loc.Name+".")
		}
	}
	if tz != "" && !phone.ValidZone(tz) {
		b.addErr(seenName(dialerd.ColTimezone), "Unknown time zone (use an IANA name such as America/New_York).")
	}
	if b.fe != nil {
		return dialerd.Prospect{}, b.fe.Err()
	}
	// Explicit time zone, else the explicit state's zones, else the number's.
	switch {
	case tz != "":
		if canon, ok := phone.CanonicalZone(tz); ok {
			tz = canon
		}
		p.Timezones = []string{tz}
	case p.State != "":
		p.Timezones = phone.ZonesForRegion(p.State)
	default:
		p.Timezones = num.Timezones
	}
	if p.State == "" {
		p.State = num.State
	}
	if p.Timezones == nil {
		p.Timezones = []string{}
	}
	return *p, nil
}

// orderMatters reports whether the order names are visited in changes
// Normalize's result: two names for one column, two custom names that trim
// to one, or more custom fields than are kept. It also counts the custom
// names.
func orderMatters(values map[string]string) (matters bool, customs int) {
	var cols [len(columns)]bool
	for name := range values {
		col := dialerd.CanonicalColumn(name)
		if col == "" {
			customs++
			if customs > MaxCustomField || strings.TrimSpace(name) != name {
				matters = true
			}
			continue
		}
		i := columnIndex(col)
		if cols[i] {
			matters = true
		}
		cols[i] = true
	}
	return matters, customs
}
