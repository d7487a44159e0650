package dialerd

import (
	"strings"
	"time"
	"unicode/utf8"
)

// ProspectList is a list of prospects dialled by one campaign. Its slug is
// unique across the cluster (uploads address lists by slug); its UUID names
// its grain.
type ProspectList struct {
	UUID      string    `json:"uuid"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	Campaign  string    `json:"campaign"`  // the campaign's slug
	Workspace *string   `json:"workspace"` // the campaign's, when the list was made
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// WorkspaceID returns the workspace, "" when none.
func (l *ProspectList) WorkspaceID() string {
	if l.Workspace == nil {
		return ""
	}
	return *l.Workspace
}

// ListInput is the body of POST /list/.
type ListInput struct {
	Name     string
	Campaign string
}

// ParseListInput decodes and validates the body of POST /list/.
func ParseListInput(body []byte) (ListInput, error) {
	m, err := DecodeObject(body)
	if err != nil {
		return ListInput{}, err
	}
	var in ListInput
	fe := FieldErrors{}
	for k, raw := range m {
		switch k {
		case "name":
			if msg := decodeString(raw, &in.Name); msg != "" {
				fe.Add(k, msg)
			}
		case "campaign":
			if msg := decodeString(raw, &in.Campaign); msg != "" {
				fe.Add(k, msg)
			}
		default:
			fe.Add(k, "Unknown field.")
		}
	}
	if _, bad := fe["name"]; !bad {
		switch {
		case strings.TrimSpace(in.Name) == "":
			fe.Add("name", "This field is required.")
		case utf8.RuneCountInString(in.Name) > 200:
			fe.Add("name", "Ensure this field has no more than 200 characters.")
		case hasControl(in.Name):
			fe.Add("name", "Must not contain control characters.")
		}
	}
	if _, bad := fe["campaign"]; !bad {
		if in.Campaign == "" {
			fe.Add("campaign", "This field is required.")
		} else if !ValidSlug(in.Campaign) {
			fe.Add("campaign", "Not a campaign slug.")
		}
	}
	return in, fe.Err()
}

// ValidUUID reports whether s looks like a canonical lower-case UUID.
func ValidUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}
