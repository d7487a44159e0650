package dialerd

import (
	"encoding/json"
	"strings"
	"time"
)

// Prospect statuses.
const (
	ProspectUnresolved = "unresolved" // still to be reached
	ProspectResolved   = "resolved"   // done: completed, exhausted, do-not-call, expired
)

// Prospect is a person to call, in one list. Phone is E.164; Timezones are
// the IANA zones the person may be in (several when only the number is
// known and its area code spans zones); Fields are the upload's other
// columns, handed to the agent.
type Prospect struct {
	ID   string `json:"id"`
	List string `json:"list"`
	ProspectData
	CreatedAt time.Time `json:"created_at"`
	// The dial state, absent until the first attempt.
	LastAttemptAt time.Time `json:"last_attempt_at,omitzero"`
	LastOutcome   string    `json:"last_outcome,omitempty"`
	// NextCallAt is when the prospect may be called next (while a call is
	// in progress, a bound by which its result must have come).
	NextCallAt time.Time `json:"next_call_at,omitzero"`
	CallbackAt time.Time `json:"callback_at,omitzero"`
	// RecentAttempts are the latest attempts, oldest first: what a
	// state's frequency cap counts.
	RecentAttempts []time.Time `json:"recent_attempts,omitempty"`
	// Resolution says why a resolved prospect is done with: completed,
	// do_not_call, exhausted, expired.
	Resolution string `json:"resolution,omitempty"`
}

// Due is when the prospect's history lets it be called: NextCallAt once it
// has one, else when it was added.
func (p *Prospect) Due() time.Time {
	if !p.NextCallAt.IsZero() {
		return p.NextCallAt
	}
	return p.CreatedAt
}

// ProspectData is a prospect but for what its list gives it when it is
// added (id, list, time), so it can be encoded before then: an upload
// encodes its rows in parallel, and the list only splices in the rest
// (EncodeProspect).
type ProspectData struct {
	Phone     string            `json:"primary_phone"`
	FirstName string            `json:"first_name"`
	LastName  string            `json:"last_name"`
	Email     string            `json:"email"`
	State     string            `json:"state"`
	Zip       string            `json:"zip"`
	Timezones []string          `json:"timezones"`
	Fields    map[string]string `json:"fields"`
	Status    string            `json:"status"`
	Attempts  int               `json:"attempts"`
}

// EncodeProspect returns the JSON of a prospect from its data encoded on
// its own: the bytes json.Marshal gives for the whole Prospect.
func EncodeProspect(id, list string, created time.Time, data []byte) []byte {
	out := make([]byte, 0, len(data)+len(id)+len(list)+64)
	qid, _ := json.Marshal(id)
	qlist, _ := json.Marshal(list)
	out = append(out, `{"id":`...)
	out = append(out, qid...)
	out = append(out, `,"list":`...)
	out = append(out, qlist...)
	if len(data) > 2 {
		out = append(out, ',')
		out = append(out, data[1:len(data)-1]...)
	}
	out = append(out, `,"created_at":"`...)
	out = created.AppendFormat(out, time.RFC3339Nano)
	return append(out, `"}`...)
}

// AppendJSON appends p encoded exactly as encoding/json encodes it (a test
// holds the two equal): a lease rewrites a hundred records a tick.
func (p *Prospect) AppendJSON(b []byte) []byte {
	b = append(b, EncodeProspect(p.ID, p.List, p.CreatedAt, p.ProspectData.AppendJSON(nil))...)
	b = b[:len(b)-1] // reopen the object
	appendTime := func(name string, t time.Time) {
		if !t.IsZero() {
			b = append(b, `,"`+name+`":"`...)
			b = t.AppendFormat(b, time.RFC3339Nano)
			b = append(b, '"')
		}
	}
	appendString := func(name, v string) {
		if v != "" {
			b = append(b, `,"`+name+`":`...)
			b = appendJSONString(b, v)
		}
	}
	appendTime("last_attempt_at", p.LastAttemptAt)
	appendString("last_outcome", p.LastOutcome)
	appendTime("next_call_at", p.NextCallAt)
	appendTime("callback_at", p.CallbackAt)
	if len(p.RecentAttempts) > 0 {
		b = append(b, `,"recent_attempts":[`...)
		for i, t := range p.RecentAttempts {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = t.AppendFormat(b, time.RFC3339Nano)
			b = append(b, '"')
		}
		b = append(b, ']')
	}
	appendString("resolution", p.Resolution)
	return append(b, '}')
}

// Canonical prospect columns.
const (
	ColPhone     = "primary_phone"
	ColFirstName = "first_name"
	ColLastName  = "last_name"
	ColEmail     = "email"
	ColState     = "state"
	ColZip       = "zip"
	ColTimezone  = "timezone"
)

var columnAliases = map[string]string{
	"primary_phone": ColPhone, "phone": ColPhone, "phone_number": ColPhone,
	"first_name": ColFirstName, "firstname": ColFirstName,
	"last_name": ColLastName, "lastname": ColLastName,
	"email": ColEmail,
	"state": ColState, "province": ColState,
	"zip": ColZip, "postal_code": ColZip,
	"timezone": ColTimezone,
}

// CanonicalColumn maps a column or field name (any case, surrounding
// spaces, words joined by spaces, hyphens or underscores: "Phone Number",
// "first-name") to its canonical prospect column, or "" for a custom field.
func CanonicalColumn(name string) string {
	key := strings.ToLower(strings.TrimSpace(name))
	key = strings.Join(strings.FieldsFunc(key, func(r rune) bool { return r == ' ' || r == '-' || r == '_' }), "_")
	return columnAliases[key]
}
