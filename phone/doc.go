// Package phone turns the phone numbers of prospect lists into E.164 and
// says where their owners probably are: the state or province and the
// candidate time zones that the calling-window rules need.
//
// It is the only package that imports github.com/nyaruka/phonenumbers (one
// home per dependency). The library is slow for a million-row upload — about
// 20 µs a number, mostly regular expressions — so well-formed NANP numbers
// take a fast path that answers from what the Parser learnt of their
// exchange, and a differential test holds it to the library's answers (see
// fast.go).
//
// What the number says is the last resort: a prospect's explicit time zone
// column comes first (ValidZone, CanonicalZone), then an explicit state
// (ZonesForRegion), then Parse. Where a number leaves several zones, the
// safe rule of reference/compliance.md applies: a call is allowed only when
// it is allowed in every candidate zone.
package phone
