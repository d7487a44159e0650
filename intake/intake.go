// Package intake turns what a client sends about a prospect — form fields,
// a JSON object, a CSV row — into a Prospect: canonical columns, a phone
// number in E.164, and the state and time zones to dial it by (explicit
// columns first, validated; else from the number).
package intake

import (
	"sort"
	"strings"
	"sync"
	"sync/atomic"
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

// canonicals remembers the canonical column of names seen: a file repeats
// its header's names on every row. Bounded, since single adds bring
// arbitrary names.
var (
	canonicals     sync.Map // name → canonical column ("" for custom)
	canonicalsSize atomic.Int32
)

const maxCanonicals = 4096

func canonical(name string) string {
	if c, ok := canonicals.Load(name); ok {
		return c.(string)
	}
	c := dialerd.CanonicalColumn(name)
	if canonicalsSize.Load() < maxCanonicals {
		if _, loaded := canonicals.LoadOrStore(name, c); !loaded {
			canonicalsSize.Add(1)
		}
	}
	return c
}

// Normalize builds a prospect from named values (column or field name →
// value). Unknown names become custom fields. Errors are per field.
func Normalize(values map[string]string, parser *phone.Parser, loc *dialerd.Locale) (dialerd.Prospect, error) {
	p := dialerd.Prospect{ProspectData: dialerd.ProspectData{Fields: map[string]string{}, Status: dialerd.ProspectUnresolved, Timezones: []string{}}}
	fe := dialerd.FieldErrors{}
	var rawPhone, tz string
	seen := map[string]string{}
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	sort.Strings(names) // deterministic errors when aliases collide
	for _, name := range names {
		v := strings.TrimSpace(values[name])
		if !utf8.ValidString(v) || len(v) > MaxFieldLen {
			fe.Add(name, "Must be UTF-8 text of at most 1000 bytes.")
			continue
		}
		col := canonical(name)
		if col == "" {
			if len(p.Fields) >= MaxCustomField {
				fe.Add(name, "Too many custom fields (at most 100).")
				continue
			}
			p.Fields[strings.TrimSpace(name)] = v
			continue
		}
		if prev, dup := seen[col]; dup {
			fe.Add(name, "Given twice (also as "+prev+").")
			continue
		}
		seen[col] = name
		switch col {
		case dialerd.ColPhone:
			rawPhone = v
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
			tz = v
		}
	}
	phoneField := seen[dialerd.ColPhone]
	if phoneField == "" {
		phoneField = dialerd.ColPhone
	}
	var num phone.Number
	if rawPhone == "" {
		fe.Add(phoneField, "This field is required.")
	} else if n, err := parser.Parse(rawPhone); err != nil {
		fe.Add(phoneField, err.Error())
	} else {
		num = n
		p.Phone = n.E164
	}
	if p.State != "" {
		if _, ok := loc.Regions[p.State]; !ok {
			fe.Add(seen[dialerd.ColState], "Unknown state or province code for "+loc.Name+".")
		}
	}
	if tz != "" && !phone.ValidZone(tz) {
		fe.Add(seen[dialerd.ColTimezone], "Unknown time zone (use an IANA name such as America/New_York).")
	}
	if err := fe.Err(); err != nil {
		return dialerd.Prospect{}, err
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
	return p, nil
}
