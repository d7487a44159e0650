package dialerd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/mail"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Campaign defaults, exactly those of the API reference.
const (
	DefaultLocale              = "USCA"
	DefaultCallRatio           = 1.0
	DefaultDialerInterval      = 10
	DefaultMaxActiveCalls      = 0
	DefaultMaxNumberCalls      = 10
	DefaultMinTimeBetweenCalls = 30
	DefaultDupeDays            = 90
	DefaultExpireDays          = 90
	DefaultEarliestTime        = "09:00:00"
	DefaultLatestTime          = "21:00:00"
	DefaultMaxWaitTime         = 60
	DefaultQueueStrategy       = "longest-idle-agent"
	DefaultWrapUpTime          = 3
	// DefaultMaxAbandonRate is the TCPA's 3 % of answered calls.
	DefaultMaxAbandonRate = 3.0
)

// QueueStrategies are the supported ways to pick a seat for an answered call,
// with FreeSWITCH mod_callcenter's meanings.
var QueueStrategies = []string{
	"longest-idle-agent",
	"round-robin",
	"top-down",
	"agent-with-least-talk-time",
	"agent-with-fewest-calls",
	"sequentially-by-agent-order",
	"random",
}

// Campaign is an outbound calling campaign: who owns it and the settings its
// dialer tick obeys. Field names and defaults are the API reference's.
type Campaign struct {
	ID                   string  `json:"id"`
	Slug                 string  `json:"slug"`
	Name                 string  `json:"name"`
	AgentID              *string `json:"agent_id"`
	Workspace            *string `json:"workspace"`
	Email                *string `json:"email"`
	LocaleName           string  `json:"locale_name"`
	Active               bool    `json:"active"`
	CallRatio            float64 `json:"call_ratio"`
	DialerInterval       int     `json:"dialer_interval"`
	MaxActiveCalls       int     `json:"max_active_calls"`
	MaxNumberCalls       int     `json:"max_number_calls"`
	MinTimeBetweenCalls  int     `json:"min_time_between_calls"`
	DupeDays             int     `json:"dupe_days"`
	ExpireDays           int     `json:"expire_days"`
	EarliestProspectTime string  `json:"earliest_prospect_time"`
	LatestProspectTime   string  `json:"latest_prospect_time"`
	IgnoreStates         string  `json:"ignore_states"`
	FilterHolidays       bool    `json:"filter_holidays"`
	MaxWaitTime          int     `json:"max_wait_time"`
	QueueStrategy        string  `json:"queue_strategy"`
	WrapUpTime           int     `json:"wrap_up_time"`
	// MaxAbandonRate is the highest share, in percent, of answered calls
	// the dialer may abandon over 30 days; the governor lowers the
	// effective call ratio to stay under it.
	MaxAbandonRate float64   `json:"max_abandon_rate"`
	Paused         bool      `json:"paused"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// NewCampaign returns a campaign with every default of the reference.
func NewCampaign() Campaign {
	return Campaign{
		LocaleName:           DefaultLocale,
		Active:               true,
		CallRatio:            DefaultCallRatio,
		DialerInterval:       DefaultDialerInterval,
		MaxActiveCalls:       DefaultMaxActiveCalls,
		MaxNumberCalls:       DefaultMaxNumberCalls,
		MinTimeBetweenCalls:  DefaultMinTimeBetweenCalls,
		DupeDays:             DefaultDupeDays,
		ExpireDays:           DefaultExpireDays,
		EarliestProspectTime: DefaultEarliestTime,
		LatestProspectTime:   DefaultLatestTime,
		FilterHolidays:       true,
		MaxWaitTime:          DefaultMaxWaitTime,
		QueueStrategy:        DefaultQueueStrategy,
		WrapUpTime:           DefaultWrapUpTime,
		MaxAbandonRate:       DefaultMaxAbandonRate,
	}
}

// WorkspaceID returns the workspace, "" when the campaign has none.
func (c *Campaign) WorkspaceID() string {
	if c.Workspace == nil {
		return ""
	}
	return *c.Workspace
}

// EmailAddr returns the owner's e-mail, "" when unset.
func (c *Campaign) EmailAddr() string {
	if c.Email == nil {
		return ""
	}
	return *c.Email
}

// readOnlyFields are accepted on input (a client may PUT back what it GOT)
// and ignored.
var readOnlyFields = map[string]bool{"id": true, "slug": true, "created_at": true, "updated_at": true}

// campaignFields decodes one JSON value into its field. Keeping it a table
// makes the set of writable fields, and their types, one list.
var campaignFields = map[string]func(c *Campaign, raw json.RawMessage) string{
	"name":                   func(c *Campaign, r json.RawMessage) string { return decodeString(r, &c.Name) },
	"agent_id":               func(c *Campaign, r json.RawMessage) string { return decodeNullString(r, &c.AgentID) },
	"workspace":              func(c *Campaign, r json.RawMessage) string { return decodeNullString(r, &c.Workspace) },
	"email":                  func(c *Campaign, r json.RawMessage) string { return decodeNullString(r, &c.Email) },
	"locale_name":            func(c *Campaign, r json.RawMessage) string { return decodeString(r, &c.LocaleName) },
	"active":                 func(c *Campaign, r json.RawMessage) string { return decodeBool(r, &c.Active) },
	"call_ratio":             func(c *Campaign, r json.RawMessage) string { return decodeFloat(r, &c.CallRatio) },
	"dialer_interval":        func(c *Campaign, r json.RawMessage) string { return decodeInt(r, &c.DialerInterval) },
	"max_active_calls":       func(c *Campaign, r json.RawMessage) string { return decodeInt(r, &c.MaxActiveCalls) },
	"max_number_calls":       func(c *Campaign, r json.RawMessage) string { return decodeInt(r, &c.MaxNumberCalls) },
	"min_time_between_calls": func(c *Campaign, r json.RawMessage) string { return decodeInt(r, &c.MinTimeBetweenCalls) },
	"dupe_days":              func(c *Campaign, r json.RawMessage) string { return decodeInt(r, &c.DupeDays) },
	"expire_days":            func(c *Campaign, r json.RawMessage) string { return decodeInt(r, &c.ExpireDays) },
	"earliest_prospect_time": func(c *Campaign, r json.RawMessage) string { return decodeString(r, &c.EarliestProspectTime) },
	"latest_prospect_time":   func(c *Campaign, r json.RawMessage) string { return decodeString(r, &c.LatestProspectTime) },
	"ignore_states":          func(c *Campaign, r json.RawMessage) string { return decodeString(r, &c.IgnoreStates) },
	"filter_holidays":        func(c *Campaign, r json.RawMessage) string { return decodeBool(r, &c.FilterHolidays) },
	"max_wait_time":          func(c *Campaign, r json.RawMessage) string { return decodeInt(r, &c.MaxWaitTime) },
	"queue_strategy":         func(c *Campaign, r json.RawMessage) string { return decodeString(r, &c.QueueStrategy) },
	"wrap_up_time":           func(c *Campaign, r json.RawMessage) string { return decodeInt(r, &c.WrapUpTime) },
	"max_abandon_rate":       func(c *Campaign, r json.RawMessage) string { return decodeFloat(r, &c.MaxAbandonRate) },
	"paused":                 func(c *Campaign, r json.RawMessage) string { return decodeBool(r, &c.Paused) },
}

// DecodeObject parses body as one JSON object. Malformed JSON, a non-object,
// trailing data or a repeated key is an EINVALID error: a request that could
// mean two things must not be guessed at.
func DecodeObject(body []byte) (map[string]json.RawMessage, error) {
	if !utf8.Valid(body) {
		return nil, Errorf(EINVALID, "Malformed JSON: body is not UTF-8.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return nil, Errorf(EINVALID, "Malformed JSON: %s", jsonErrText(err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, Errorf(EINVALID, "Malformed JSON: expected an object.")
	}
	m := make(map[string]json.RawMessage)
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, Errorf(EINVALID, "Malformed JSON: %s", jsonErrText(err))
		}
		k, _ := kt.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, Errorf(EINVALID, "Malformed JSON: %s", jsonErrText(err))
		}
		if _, dup := m[k]; dup {
			return nil, &Error{Code: EINVALID, Message: "Invalid input.", Fields: map[string][]string{k: {"Given more than once."}}}
		}
		m[k] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, Errorf(EINVALID, "Malformed JSON: %s", jsonErrText(err))
	}
	// Only whitespace may follow; anything else, even a broken token, is
	// data after the object.
	if _, err := dec.Token(); err != io.EOF {
		return nil, Errorf(EINVALID, "Malformed JSON: data after the object.")
	}
	return m, nil
}

func jsonErrText(err error) string {
	s := err.Error()
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}

// ApplyJSON overlays the fields present in body on c, then validates the
// result. Unknown fields are errors; read-only fields are ignored. On error
// c is unchanged.
func (c *Campaign) ApplyJSON(body []byte) error {
	m, err := DecodeObject(body)
	if err != nil {
		return err
	}
	next := *c
	fe := FieldErrors{}
	for k, raw := range m {
		if readOnlyFields[k] {
			continue
		}
		set, ok := campaignFields[k]
		if !ok {
			fe.Add(k, "Unknown field.")
			continue
		}
		if msg := set(&next, raw); msg != "" {
			fe.Add(k, msg)
		}
	}
	// Validate what decoded too, so one response names every problem.
	if err := next.Validate(); err != nil {
		for k, msgs := range err.(*Error).Fields {
			if _, bad := fe[k]; !bad {
				fe[k] = msgs
			}
		}
	}
	if err := fe.Err(); err != nil {
		return err
	}
	*c = next
	return nil
}

// Validate checks every field against the rules of DESIGN §3 and normalises
// the ones with a canonical form (times, ignore_states).
func (c *Campaign) Validate() error {
	fe := FieldErrors{}
	if strings.TrimSpace(c.Name) == "" {
		fe.Add("name", "This field is required.")
	} else if utf8.RuneCountInString(c.Name) > 200 {
		fe.Add("name", "Ensure this field has no more than 200 characters.")
	} else if hasControl(c.Name) {
		fe.Add("name", "Must not contain control characters.")
	}
	checkID(fe, "agent_id", c.AgentID)
	checkID(fe, "workspace", c.Workspace)
	if c.Email != nil {
		if a, err := mail.ParseAddress(*c.Email); err != nil || a.Address != *c.Email || len(*c.Email) > 254 {
			fe.Add("email", "Enter a valid email address.")
		}
	}
	loc, ok := Locales[c.LocaleName]
	if !ok {
		fe.Add("locale_name", fmt.Sprintf("Unknown locale %q; known: %s.", c.LocaleName, strings.Join(LocaleNames(), ", ")))
	}
	if !(c.CallRatio > 0) || c.CallRatio > MaxCallRatio {
		fe.Add("call_ratio", fmt.Sprintf("Must be greater than 0 and at most %g.", float64(MaxCallRatio)))
	}
	between(fe, "dialer_interval", c.DialerInterval, 2, 15)
	between(fe, "max_active_calls", c.MaxActiveCalls, 0, 1_000_000)
	between(fe, "max_number_calls", c.MaxNumberCalls, 1, 1000)
	between(fe, "min_time_between_calls", c.MinTimeBetweenCalls, 0, 525_600)
	if c.DupeDays != -1 {
		between(fe, "dupe_days", c.DupeDays, 0, 36_500)
	}
	if c.ExpireDays != -1 {
		between(fe, "expire_days", c.ExpireDays, 1, 36_500)
	}
	between(fe, "max_wait_time", c.MaxWaitTime, 0, 3600)
	between(fe, "wrap_up_time", c.WrapUpTime, 0, 3600)
	if !(c.MaxAbandonRate > 0) || c.MaxAbandonRate > 100 {
		fe.Add("max_abandon_rate", "Must be greater than 0 and at most 100 (percent).")
	}
	early, eok := ParseTimeOfDay(c.EarliestProspectTime)
	if !eok {
		fe.Add("earliest_prospect_time", "Time has wrong format. Use HH:MM[:SS].")
	}
	late, lok := ParseTimeOfDay(c.LatestProspectTime)
	if !lok {
		fe.Add("latest_prospect_time", "Time has wrong format. Use HH:MM[:SS].")
	}
	if eok && lok && early >= late {
		fe.Add("earliest_prospect_time", "Must be earlier than latest_prospect_time.")
	}
	var states string
	if ok {
		var bad []string
		states, bad = normaliseStates(loc, c.IgnoreStates)
		if len(bad) > 0 {
			fe.Add("ignore_states", fmt.Sprintf("Unknown state or province code(s) for %s: %s.", c.LocaleName, strings.Join(bad, ", ")))
		}
	}
	if !contains(QueueStrategies, c.QueueStrategy) {
		fe.Add("queue_strategy", fmt.Sprintf("Must be one of: %s.", strings.Join(QueueStrategies, ", ")))
	}
	if err := fe.Err(); err != nil {
		return err
	}
	c.EarliestProspectTime = FormatTimeOfDay(early)
	c.LatestProspectTime = FormatTimeOfDay(late)
	c.IgnoreStates = states
	return nil
}

// MaxCallRatio bounds call_ratio so that seats × ratio cannot overflow and a
// typo (150 for 1.50) cannot flood a trunk.
const MaxCallRatio = 100

func checkID(fe FieldErrors, field string, v *string) {
	if v == nil {
		return
	}
	switch {
	case strings.TrimSpace(*v) == "":
		fe.Add(field, "This field may not be blank.")
	case len(*v) > 128:
		fe.Add(field, "Ensure this field has no more than 128 characters.")
	case hasControl(*v):
		fe.Add(field, "Must not contain control characters.")
	}
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

func between(fe FieldErrors, field string, v, lo, hi int) {
	if v < lo || v > hi {
		fe.Add(field, fmt.Sprintf("Must be between %d and %d.", lo, hi))
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// normaliseStates returns the codes upper-cased, de-duplicated, sorted and
// comma-joined, and the codes the locale does not know.
func normaliseStates(loc *Locale, s string) (string, []string) {
	seen := map[string]bool{}
	var out, bad []string
	for _, part := range strings.Split(s, ",") {
		code := strings.ToUpper(strings.TrimSpace(part))
		if code == "" || seen[code] {
			continue
		}
		seen[code] = true
		if _, ok := loc.Regions[code]; !ok {
			bad = append(bad, code)
			continue
		}
		out = append(out, code)
	}
	sort.Strings(out)
	return strings.Join(out, ","), bad
}

// IgnoredStates returns the set of region codes the campaign excludes.
func (c *Campaign) IgnoredStates() map[string]bool {
	m := map[string]bool{}
	for _, s := range strings.Split(c.IgnoreStates, ",") {
		if s != "" {
			m[s] = true
		}
	}
	return m
}

// ParseTimeOfDay parses "HH:MM" or "HH:MM:SS" (24 h) into seconds after
// midnight.
func ParseTimeOfDay(s string) (int, bool) {
	parts := strings.Split(s, ":")
	if len(parts) != 2 && len(parts) != 3 {
		return 0, false
	}
	limits := []int{23, 59, 59}
	var v [3]int
	for i, p := range parts {
		if len(p) != 2 || p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9' {
			return 0, false
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > limits[i] {
			return 0, false
		}
		v[i] = n
	}
	return v[0]*3600 + v[1]*60 + v[2], true
}

// FormatTimeOfDay formats seconds after midnight as HH:MM:SS.
func FormatTimeOfDay(sec int) string {
	return fmt.Sprintf("%02d:%02d:%02d", sec/3600, sec/60%60, sec%60)
}

// Slugify derives a URL slug from a campaign name: lower-case ASCII letters
// and digits, words joined by '-', at most 60 characters; "campaign" when
// nothing is left.
func Slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			need := 1
			if dash && b.Len() > 0 {
				need = 2
			}
			if b.Len()+need > 60 {
				return strings.TrimRight(b.String(), "-")
			}
			if need == 2 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
	}
	s := strings.TrimRight(b.String(), "-")
	if s == "" {
		return "campaign"
	}
	return s
}

// ValidSlug reports whether s could have come from Slugify (with a -N
// suffix): the check a path parameter passes before it names a grain.
func ValidSlug(s string) bool {
	if s == "" || len(s) > 80 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-') || ch == '-' && s[i-1] == '-' {
			return false
		}
	}
	return true
}

func decodeString(raw json.RawMessage, dst *string) string {
	if string(raw) == "null" {
		return "This field may not be null."
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return "Not a valid string."
	}
	return ""
}

func decodeNullString(raw json.RawMessage, dst **string) string {
	if string(raw) == "null" {
		*dst = nil
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "Not a valid string."
	}
	*dst = &s
	return ""
}

func decodeBool(raw json.RawMessage, dst *bool) string {
	switch string(raw) {
	case "true":
		*dst = true
	case "false":
		*dst = false
	case "null":
		return "This field may not be null."
	default:
		return "Must be a valid boolean."
	}
	return ""
}

func decodeInt(raw json.RawMessage, dst *int) string {
	if string(raw) == "null" {
		return "This field may not be null."
	}
	if len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		return "A valid integer is required."
	}
	n, err := strconv.ParseInt(string(raw), 10, 32)
	if err != nil {
		// 10.0 is an integer written as a float: accept a zero fraction,
		// but no exponent (1e-400 would round to 0 unnoticed).
		f, ferr := strconv.ParseFloat(string(raw), 64)
		if ferr != nil || bytes.ContainsAny(raw, "eE") || f != float64(int64(f)) || f > 1<<31-1 || f < -(1<<31) {
			return "A valid integer is required."
		}
		n = int64(f)
	}
	*dst = int(n)
	return ""
}

func decodeFloat(raw json.RawMessage, dst *float64) string {
	if string(raw) == "null" {
		return "This field may not be null."
	}
	if len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		return "A valid number is required."
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return "A valid number is required."
	}
	*dst = f
	return ""
}
