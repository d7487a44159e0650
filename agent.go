package dialerd

import (
	"strings"
	"time"
)

// Seat states an operator sets (PATCH /agent/{id}/seat/{n}/).
const (
	SeatAvailable = "available"
	SeatPaused    = "paused"
	SeatOffline   = "offline"
)

// MaxSeats bounds an agent's seat pool.
const MaxSeats = 10000

// Agent is a pool of seats that take answered calls: an AI agent's
// concurrency, or a team of people. Campaigns name it by agent_id.
type Agent struct {
	ID        string      `json:"agent_id"`
	Workspace *string     `json:"workspace"`
	Seats     []AgentSeat `json:"seats"`
	CreatedAt time.Time   `json:"created_at"`
	UpdatedAt time.Time   `json:"updated_at"`
}

// AgentSeat is one seat and the state its operator set.
type AgentSeat struct {
	Seat  int    `json:"seat"`
	State string `json:"state"`
}

// WorkspaceID returns the workspace, "" when none.
func (a *Agent) WorkspaceID() string {
	if a.Workspace == nil {
		return ""
	}
	return *a.Workspace
}

// Resize sets the pool to n seats: seats kept keep their state, new ones
// are available.
func (a *Agent) Resize(n int) {
	if n < len(a.Seats) {
		a.Seats = a.Seats[:n]
		return
	}
	for i := len(a.Seats) + 1; i <= n; i++ {
		a.Seats = append(a.Seats, AgentSeat{Seat: i, State: SeatAvailable})
	}
}

// AgentInput is the body of PUT /agent/{id}/.
type AgentInput struct {
	Workspace *string
	Seats     int
}

// ValidAgentID reports whether s can name an agent (a path segment).
func ValidAgentID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// ParseAgentInput decodes and validates the body of PUT /agent/{id}/.
func ParseAgentInput(body []byte) (AgentInput, error) {
	m, err := DecodeObject(body)
	if err != nil {
		return AgentInput{}, err
	}
	var in AgentInput
	fe := FieldErrors{}
	seen := false
	for k, raw := range m {
		switch k {
		case "workspace":
			if msg := decodeNullString(raw, &in.Workspace); msg != "" {
				fe.Add(k, msg)
			} else {
				checkID(fe, k, in.Workspace)
			}
		case "seats":
			seen = true
			if msg := decodeInt(raw, &in.Seats); msg != "" {
				fe.Add(k, msg)
			} else if in.Seats < 0 || in.Seats > MaxSeats {
				fe.Add(k, "Must be between 0 and 10000.")
			}
		default:
			fe.Add(k, "Unknown field.")
		}
	}
	if !seen {
		fe.Add("seats", "This field is required.")
	}
	return in, fe.Err()
}

// ParseSeatState decodes the body of PATCH /agent/{id}/seat/{n}/.
func ParseSeatState(body []byte) (string, error) {
	m, err := DecodeObject(body)
	if err != nil {
		return "", err
	}
	fe := FieldErrors{}
	var state string
	for k, raw := range m {
		if k != "state" {
			fe.Add(k, "Unknown field.")
			continue
		}
		if msg := decodeString(raw, &state); msg != "" {
			fe.Add(k, msg)
			continue
		}
		switch strings.TrimSpace(state) {
		case SeatAvailable, SeatPaused, SeatOffline:
			state = strings.TrimSpace(state)
		default:
			fe.Add(k, `"`+state+`" is not a valid choice: available, paused or offline.`)
		}
	}
	if _, ok := m["state"]; !ok {
		fe.Add("state", "This field is required.")
	}
	return state, fe.Err()
}
