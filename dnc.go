package dialerd

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// A workspace's do-not-call list holds the numbers none of its campaigns
// may dial. Numbers get there through the API (one, a batch, or a CSV
// file) and through seats' do_not_call dispositions.

// Sources of a DNC entry.
const (
	DNCSourceAPI         = "api"
	DNCSourceUpload      = "upload"
	DNCSourceDisposition = "disposition"
)

// Limits of the DNC API.
const (
	MaxDNCBatch     = 1000 // numbers in one JSON add
	MaxDNCReasonLen = 500
)

// DNCEntry is one number on a workspace's do-not-call list.
type DNCEntry struct {
	Number    string    `json:"phone_number"` // E.164
	Workspace *string   `json:"workspace"`
	Source    string    `json:"source"`
	Reason    string    `json:"reason,omitempty"`
	Campaign  string    `json:"campaign,omitempty"` // a disposition's campaign and call
	Call      string    `json:"call,omitempty"`
	AddedAt   time.Time `json:"added_at"`
}

// DNCInput is a request to add numbers: one ("phone_number") or a batch
// ("phone_numbers"), as the client wrote them, with an optional reason and
// workspace.
type DNCInput struct {
	Numbers   []string
	Batch     bool // given as "phone_numbers"
	Reason    string
	Workspace *string
}

// ParseDNCInput reads POST /dnc/'s JSON body. The numbers are checked by
// the caller, which knows the phone rules.
func ParseDNCInput(body []byte) (DNCInput, error) {
	m, err := DecodeObject(body)
	if err != nil {
		return DNCInput{}, err
	}
	var in DNCInput
	fe := FieldErrors{}
	for k, raw := range m {
		switch k {
		case "phone_number":
			var v string
			if json.Unmarshal(raw, &v) != nil {
				fe.Add(k, "Not a valid string.")
				continue
			}
			in.Numbers = append(in.Numbers, v)
		case "phone_numbers":
			var vs []string
			if json.Unmarshal(raw, &vs) != nil {
				fe.Add(k, "Must be an array of strings.")
				continue
			}
			if len(vs) == 0 {
				fe.Add(k, "Give at least one number.")
			}
			if len(vs) > MaxDNCBatch {
				fe.Add(k, fmt.Sprintf("At most %d numbers per request; upload a CSV file to /dnc/upload/ for more.", MaxDNCBatch))
			}
			in.Numbers, in.Batch = append(in.Numbers, vs...), true
		case "reason":
			if json.Unmarshal(raw, &in.Reason) != nil {
				fe.Add(k, "Not a valid string.")
			} else if len(in.Reason) > MaxDNCReasonLen {
				fe.Add(k, fmt.Sprintf("Ensure this field has no more than %d characters.", MaxDNCReasonLen))
			} else if hasControl(in.Reason) {
				fe.Add(k, "Must not contain control characters.")
			}
		case "workspace":
			if msg := decodeNullString(raw, &in.Workspace); msg != "" {
				fe.Add(k, msg)
			} else {
				checkID(fe, k, in.Workspace)
			}
		default:
			fe.Add(k, "Unknown field.")
		}
	}
	_, one := m["phone_number"]
	_, many := m["phone_numbers"]
	switch {
	case one && many:
		fe.Add("phone_numbers", `Give "phone_number" or "phone_numbers", not both.`)
	case !one && !many:
		fe.Add("phone_number", "This field is required.")
	}
	if err := fe.Err(); err != nil {
		return DNCInput{}, err
	}
	return in, nil
}

// DNCWorkspace decides which workspace's list a request acts on: the one
// it names (which the token must cover), else the token's only workspace;
// an admin naming none acts on the list of campaigns without a workspace.
func DNCWorkspace(p Principal, named *string) (string, error) {
	if named != nil {
		ws := *named
		if strings.TrimSpace(ws) == "" || len(ws) > 128 || hasControl(ws) {
			return "", &Error{Code: EINVALID, Message: "Invalid input.", Fields: map[string][]string{"workspace": {"Must be 1 to 128 characters, without control characters."}}}
		}
		if !p.Covers(ws) {
			return "", Errorf(EFORBIDDEN, "This token does not cover workspace %q.", ws)
		}
		return ws, nil
	}
	switch {
	case p.Admin:
		return "", nil
	case len(p.Workspaces) == 1:
		return p.Workspaces[0], nil
	}
	return "", &Error{Code: EINVALID, Message: "Invalid input.", Fields: map[string][]string{"workspace": {"This token covers several workspaces: name one."}}}
}
