package dialerd

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzCampaignApplyJSON feeds arbitrary bodies to ApplyJSON, on a new
// campaign and on a populated one. Whatever the body, ApplyJSON must not
// panic; an error is an EINVALID *Error that names only fields the body
// touched and leaves the campaign as it was; a success leaves a campaign in
// normal form that survives the JSON round trip and changed only the fields
// the body names. Seeds: testdata/fuzz/FuzzCampaignApplyJSON.
func FuzzCampaignApplyJSON(f *testing.F) {
	for _, seed := range []string{
		`{"name": "February Reminders", "call_ratio": 1.0, "dialer_interval": 10}`,
		`{"call_ratio": 1.5}`,
		`{}`,
		`{"name": null, "agent_id": null}`,
		`{"id": 1, "slug": [], "created_at": {}, "updated_at": null}`,
	} {
		f.Add([]byte(seed))
	}
	known := map[string]bool{}
	for _, k := range writableFields {
		known[k] = true
	}
	readOnly := map[string]bool{}
	for _, k := range readOnlyJSONFields {
		readOnly[k] = true
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		for _, base := range []struct {
			name string
			make func() Campaign
		}{{"new", NewCampaign}, {"populated", populatedCampaign}} {
			c := base.make()
			orig := cloneCampaign(c)
			err := c.ApplyJSON(body)
			keys, decErr := DecodeObject(body)

			if err != nil {
				var e *Error
				if !errors.As(err, &e) || e.Code != EINVALID {
					t.Fatalf("%s: ApplyJSON(%q) = %v (%T), want an EINVALID *Error", base.name, body, err, err)
				}
				if !campaignsEqual(c, orig) {
					t.Fatalf("%s: failed ApplyJSON(%q) changed the campaign:\n got %+v\nwant %+v", base.name, body, c, orig)
				}
				if decErr != nil {
					continue
				}
				// Errors name what the body sent, and the rules that tie
				// a sent field to another.
				for f, msgs := range e.Fields {
					if len(msgs) == 0 {
						t.Errorf("%s: field %q has no message", base.name, f)
					}
					_, sent := keys[f]
					_, latestSent := keys["latest_prospect_time"]
					switch {
					case sent:
					case f == "name" && base.name == "new":
					case f == "earliest_prospect_time" && latestSent:
					default:
						t.Errorf("%s: ApplyJSON(%q) names %q, which the body does not touch: %v", base.name, body, f, e.Fields)
					}
				}
				continue
			}

			if decErr != nil {
				t.Fatalf("%s: ApplyJSON(%q) succeeded but DecodeObject fails: %v", base.name, body, decErr)
			}
			for k := range keys {
				if !known[k] && !readOnly[k] {
					t.Fatalf("%s: ApplyJSON(%q) succeeded with field %q, which the reference does not have", base.name, body, k)
				}
			}
			// The result is valid and in normal form.
			again := c
			if verr := again.Validate(); verr != nil {
				t.Fatalf("%s: ApplyJSON(%q) succeeded, then Validate() = %v", base.name, body, verr)
			}
			if !campaignsEqual(again, c) {
				t.Fatalf("%s: ApplyJSON(%q) left a campaign that Validate() still changes:\n%+v\n%+v", base.name, body, c, again)
			}
			// It survives encoding/json.
			data, merr := json.Marshal(c)
			if merr != nil {
				t.Fatalf("%s: marshal %+v: %v", base.name, c, merr)
			}
			var back Campaign
			if uerr := json.Unmarshal(data, &back); uerr != nil {
				t.Fatalf("%s: unmarshal %s: %v", base.name, data, uerr)
			}
			if !campaignsEqual(back, c) {
				t.Fatalf("%s: JSON round trip of %s:\n got %+v\nwant %+v", base.name, data, back, c)
			}
			// A client that PUTs back what it got gets the same campaign.
			put := NewCampaign()
			if perr := put.ApplyJSON(data); perr != nil {
				t.Fatalf("%s: PUT back %s: %v", base.name, data, perr)
			}
			put.ID, put.Slug, put.CreatedAt, put.UpdatedAt = c.ID, c.Slug, c.CreatedAt, c.UpdatedAt
			if !campaignsEqual(put, c) {
				t.Fatalf("%s: PUT back of %s:\n got %+v\nwant %+v", base.name, data, put, c)
			}
			// Read-only fields and fields the body does not name are
			// unchanged.
			before, after := campaignJSON(t, orig), campaignJSON(t, c)
			for field, old := range before {
				if _, sent := keys[field]; (!sent || readOnly[field]) && string(old) != string(after[field]) {
					t.Fatalf("%s: ApplyJSON(%q) changed %s from %s to %s", base.name, body, field, old, after[field])
				}
			}
			// A body accepted is one JSON object and nothing else.
			if !json.Valid(body) {
				t.Fatalf("%s: ApplyJSON accepted %q, which is not valid JSON", base.name, body)
			}
		}
	})
}

// trailingGarbageBug reports whether body is the known bug's shape: one
// JSON object followed by more than whitespace. DecodeObject's last
// dec.Token() fails on data that is not a complete token ("{}A", "{}}",
// "{},{}", "{}tru", "{}\"x") and the failure is taken for the end of input.
