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
