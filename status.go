package dialerd

import "time"

// Campaign statuses, with the reference's meanings.
const (
	StatusRunning   = "Running"   // active, calls in progress
	StatusStopped   = "Stopped"   // active, unresolved prospects, no calls in progress
	StatusCompleted = "Completed" // active, every prospect resolved
	StatusInactive  = "Inactive"  // active is false
)

// CampaignStatus is the live view of a campaign: its status, the figures
// behind it, and when nothing is dialled, why.
type CampaignStatus struct {
	Slug               string         `json:"slug"`
	Status             string         `json:"status"`
	Active             bool           `json:"active"`
	Paused             bool           `json:"paused"`
	Calls              CallFigures    `json:"calls"`
	Seats              SeatFigures    `json:"seats"`
	Prospects          ProspectCounts `json:"prospects"`
	Attempts30d        int            `json:"attempts_30d"`
	AbandonRate30d     float64        `json:"abandon_rate_30d"`
	EffectiveCallRatio float64        `json:"effective_call_ratio"`
	Reasons            []Reason       `json:"reasons"`
}

// CallFigures counts the calls in progress.
type CallFigures struct {
	Ringing   int `json:"ringing"`
	Connected int `json:"connected"`
	Queued    int `json:"queued"`
}

// InProgress is every call not yet ended.
func (c CallFigures) InProgress() int { return c.Ringing + c.Connected + c.Queued }

// SeatFigures counts the campaign agent's seats by state.
type SeatFigures struct {
	Available int `json:"available"`
	Busy      int `json:"busy"`
	WrapUp    int `json:"wrap_up"`
	Paused    int `json:"paused"`
	Offline   int `json:"offline"`
}

// ProspectCounts counts the prospects of the campaign's lists.
type ProspectCounts struct {
	Total       int `json:"total"`
	Unresolved  int `json:"unresolved"`
	DialableNow int `json:"dialable_now"`
	// DialableCapped: a list stopped counting (it reads at most 20,000
	// index entries for a status); dialable_now counts the rest as
	// dialable.
	DialableCapped bool `json:"dialable_now_capped"`
}

// Reason explains why calls are held back. Code is stable for programs;
// Message is for people.
type Reason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// StatusInput is what a campaign knows at one instant.
type StatusInput struct {
	Calls     CallFigures
	Seats     SeatFigures
	Prospects ProspectCounts
	Reasons   []Reason // why eligible work is held back, from the dialer
}

// ComputeStatus derives the reference's status from the campaign and its
// live figures, and says why nothing is dialled when that is the case.
func ComputeStatus(c *Campaign, in StatusInput) CampaignStatus {
	s := CampaignStatus{
		Slug:               c.Slug,
		Active:             c.Active,
		Paused:             c.Paused,
		Calls:              in.Calls,
		Seats:              in.Seats,
		Prospects:          in.Prospects,
		EffectiveCallRatio: c.CallRatio,
		Reasons:            []Reason{},
	}
	switch {
	case !c.Active:
		s.Status = StatusInactive
		s.Reasons = append(s.Reasons, Reason{"inactive", "The campaign is not active."})
	case in.Calls.InProgress() > 0:
		s.Status = StatusRunning
	case in.Prospects.Unresolved == 0:
		s.Status = StatusCompleted
		if in.Prospects.Total == 0 {
			s.Reasons = append(s.Reasons, Reason{"no_prospects", "The campaign has no prospects: add a list and upload to it."})
		}
	default:
		s.Status = StatusStopped
		if c.Paused {
			s.Reasons = append(s.Reasons, Reason{"paused", "The campaign is paused."})
		}
		s.Reasons = append(s.Reasons, in.Reasons...)
	}
	return s
}

// Bounds of a campaign's per-minute series (GET …/stats/?minutes=N).
const (
	DefaultSeriesMinutes = 60
	MaxSeriesMinutes     = 24 * 60 // a campaign keeps a day of minutes
)

// CampaignSeries is a campaign's figures minute by minute on its clock (on
// a virtual clock, virtual minutes), oldest first and zero-filled, ending
// with the minute now is in: what a wallboard charts.
type CampaignSeries struct {
	Slug   string        `json:"slug"`
	Now    time.Time     `json:"now"`
	Points []MinutePoint `json:"points"`
}

// MinutePoint is one minute of a campaign. Attempts count the calls placed
// in it, answered those answered in it, abandoned those of the answered
// that were abandoned (whenever they ended): AbandonRate is
// abandoned / answered, 0 for a minute nothing was answered in.
type MinutePoint struct {
	Minute      time.Time `json:"minute"`
	Attempts    int       `json:"attempts"`
	Answered    int       `json:"answered"`
	Abandoned   int       `json:"abandoned"`
	AbandonRate float64   `json:"abandon_rate"`
}
