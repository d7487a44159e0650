package dialerd

import (
	"sort"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends d encoded exactly as encoding/json encodes it (a test
// holds the two equal). An upload encodes a million of these; the generic
// encoder spends most of its time and allocations on the custom-field map.
// (Not a MarshalJSON method: Prospect embeds ProspectData, and would take
// it for its own.)
func (d *ProspectData) AppendJSON(b []byte) []byte {
	b = append(b, `{"primary_phone":`...)
	b = appendJSONString(b, d.Phone)
	b = append(b, `,"first_name":`...)
	b = appendJSONString(b, d.FirstName)
	b = append(b, `,"last_name":`...)
	b = appendJSONString(b, d.LastName)
	b = append(b, `,"email":`...)
	b = appendJSONString(b, d.Email)
	b = append(b, `,"state":`...)
	b = appendJSONString(b, d.State)
	b = append(b, `,"zip":`...)
	b = appendJSONString(b, d.Zip)
	b = append(b, `,"timezones":`...)
	if d.Timezones == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, z := range d.Timezones {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, z)
		}
		b = append(b, ']')
	}
	b = append(b, `,"fields":`...)
	if d.Fields == nil {
		b = append(b, "null"...)
	} else {
		var small [16]string
		keys := small[:0]
		for k := range d.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, d.Fields[k])
		}
		b = append(b, '}')
	}
	b = append(b, `,"status":`...)
	b = appendJSONString(b, d.Status)
	b = append(b, `,"attempts":`...)
	b = strconv.AppendInt(b, int64(d.Attempts), 10)
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString is encoding/json's string encoding with HTML escaping
// (its default): <, > and & as \u00XX, U+2028 and U+2029 escaped, invalid
// UTF-8 as U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
