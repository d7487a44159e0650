package dialerd

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// CallRecord is one attempt in a campaign's call log, kept for audit.
type CallRecord struct {
	ID       string `json:"id"`
	Campaign string `json:"campaign"`
	List     string `json:"list"`
	Prospect string `json:"prospect"`
	Phone    string `json:"phone"` // E.164
	State    string `json:"state"`
	// Timezone is the zone the local time is given in: the prospect's
	// first candidate zone; Timezones are all of them (each was inside the
	// window when the call was placed).
	Timezone  string   `json:"timezone"`
	Timezones []string `json:"timezones"`
	// LocalTime is the prospect's local time when the call was placed.
	LocalTime   string     `json:"local_time"`
	Attempt     int        `json:"attempt"`
	StartedAt   time.Time  `json:"started_at"`
	AnsweredAt  *time.Time `json:"answered_at"`
	ConnectedAt *time.Time `json:"connected_at"`
	EndedAt     *time.Time `json:"ended_at"`
	// Outcome is "" while the call is in progress.
	Outcome     string `json:"outcome"`
	Disposition string `json:"disposition,omitempty"`
	Seat        int    `json:"seat,omitempty"`
	// WaitSeconds is how long an answered call waited for a seat (until
	// connected, or abandoned).
	WaitSeconds *float64 `json:"wait_seconds"`
}

// CallID names call n of a campaign: "<slug>.<n>", so a provider's event
// for it can be routed to its campaign.
func CallID(campaign string, n int64) string {
	return campaign + "." + strconv.FormatInt(n, 10)
}

// ParseCallID splits a call id into its campaign and number.
func ParseCallID(id string) (campaign string, n int64, ok bool) {
	i := strings.LastIndexByte(id, '.')
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.ParseInt(id[i+1:], 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != id[i+1:] {
		return "", 0, false
	}
	return id[:i], n, true
}

// CallPage is one page of a call log.
type CallPage struct {
	Results []CallRecord `json:"results"`
	Next    string       `json:"next_cursor"` // "" on the last page
}

// Disposition is a seat's verdict on a call, as posted to
// /call/{id}/disposition/.
type Disposition struct {
	Disposition string    `json:"disposition"`
	CallbackAt  time.Time `json:"callback_at,omitzero"`
}

// ParseDisposition decodes and validates the body of
// POST /call/{id}/disposition/: a known disposition; callback_at, RFC 3339
// and after now, with callback and only with it.
func ParseDisposition(body []byte, now time.Time) (Disposition, error) {
	var d Disposition
	m, err := DecodeObject(body)
	if err != nil {
		return d, err
	}
	fields := map[string][]string{}
	for k, v := range m {
		switch k {
		case "disposition":
			if err := json.Unmarshal(v, &d.Disposition); err != nil {
				fields[k] = append(fields[k], "Must be a string.")
			}
		case "callback_at":
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				fields[k] = append(fields[k], "Must be an RFC 3339 time.")
			} else if d.CallbackAt, err = time.Parse(time.RFC3339, s); err != nil {
				fields[k] = append(fields[k], "Must be an RFC 3339 time, e.g. 2026-03-01T15:00:00Z.")
			}
		default:
			fields[k] = append(fields[k], "Unknown field.")
		}
	}
	switch d.Disposition {
	case "completed", "do_not_call":
		if _, ok := m["callback_at"]; ok && len(fields["callback_at"]) == 0 {
			fields["callback_at"] = append(fields["callback_at"], "Only with disposition \"callback\".")
		}
	case "callback":
		if _, ok := m["callback_at"]; !ok {
			fields["callback_at"] = append(fields["callback_at"], "Required with disposition \"callback\".")
		} else if len(fields["callback_at"]) == 0 && !d.CallbackAt.After(now) {
			fields["callback_at"] = append(fields["callback_at"], "Must be in the future.")
		}
	case "":
		if len(fields["disposition"]) == 0 {
			fields["disposition"] = append(fields["disposition"], "This field is required.")
		}
	default:
		fields["disposition"] = append(fields["disposition"], "Must be one of completed, callback, do_not_call.")
	}
	if err := FieldErrors(fields).Err(); err != nil {
		return Disposition{}, err
	}
	d.CallbackAt = d.CallbackAt.UTC()
	return d, nil
}
