package actors

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/dialerd/dialerd"
)

// Catalog answers questions about many grains at once from their index
// entries, without asking (or activating) each grain: listing a workspace's
// campaigns, finding which slugs are taken, listing tokens.
type Catalog struct {
	Store dialerd.Store
}

// CampaignFilter narrows a campaign listing; empty fields match all.
type CampaignFilter struct {
	Workspace string
	Email     string
}

// Campaigns returns the JSON documents of the campaigns p can see that match
// f, oldest first.
func (c *Catalog) Campaigns(ctx context.Context, p dialerd.Principal, f CampaignFilter) ([]json.RawMessage, error) {
	ids := map[string]bool{}
	var err error
	switch {
	case f.Workspace != "":
		if !p.Covers(f.Workspace) {
			return []json.RawMessage{}, nil
		}
		err = c.collect(ctx, ids, indexCampaignWS, f.Workspace+"\x00")
	case f.Email != "":
		err = c.collect(ctx, ids, indexCampaignEmail, strings.ToLower(f.Email)+"\x00")
	case p.Admin:
		err = c.collect(ctx, ids, indexCampaignAll, "")
	default:
		for _, ws := range p.Workspaces {
			if err = c.collect(ctx, ids, indexCampaignWS, ws+"\x00"); err != nil {
				break
			}
		}
	}
	if err != nil {
		return nil, err
	}
	return c.docs(ctx, KindCampaign, ids, func(doc []byte) (time.Time, bool, error) {
		var head struct {
			Workspace *string   `json:"workspace"`
			Email     *string   `json:"email"`
			CreatedAt time.Time `json:"created_at"`
		}
		if err := json.Unmarshal(doc, &head); err != nil {
			return time.Time{}, false, err
		}
		ws, email := "", ""
		if head.Workspace != nil {
			ws = *head.Workspace
		}
		if head.Email != nil {
			email = *head.Email
		}
		keep := p.Covers(ws) && (f.Workspace == "" || ws == f.Workspace) && (f.Email == "" || strings.EqualFold(email, f.Email))
		return head.CreatedAt, keep, nil
	})
}

// collect adds to ids the last component (after 0x00, or the whole key) of
// every entry of index under prefix.
func (c *Catalog) collect(ctx context.Context, ids map[string]bool, index, prefix string) error {
	return c.Store.ScanIndex(ctx, index, prefix, func(key string, _ []byte) error {
		ids[key[strings.LastIndexByte(key, 0)+1:]] = true
		return nil
	})
}

// docs reads the document of each kind/id, keeps those check accepts (it
// also says when each was created) and returns them oldest first. An entry
// whose document is gone (deleted since the scan) is skipped: the index
// and the document change in one batch, so that is a race, not an orphan.
func (c *Catalog) docs(ctx context.Context, kind string, ids map[string]bool, check func(doc []byte) (time.Time, bool, error)) ([]json.RawMessage, error) {
	type item struct {
		doc     json.RawMessage
		created time.Time
		id      string
	}
	items := make([]item, 0, len(ids))
	for id := range ids {
		doc, err := c.Store.Get(ctx, kind+"/"+id, "doc")
		if err != nil {
			return nil, err
		} else if doc == nil {
			continue
		}
		created, keep, err := check(doc)
		if err != nil {
			return nil, err
		}
		if keep {
			items = append(items, item{doc, created, id})
		}
	}
	sort.Slice(items, func(i, j int) bool {
		if !items[i].created.Equal(items[j].created) {
			return items[i].created.Before(items[j].created)
		}
		return items[i].id < items[j].id
	})
	out := make([]json.RawMessage, len(items))
	for i, it := range items {
		out[i] = it.doc
	}
	return out, nil
}

// TakenSlugs returns the slugs in use that start with base.
func (c *Catalog) TakenSlugs(ctx context.Context, base string) (map[string]bool, error) {
	taken := map[string]bool{}
	err := c.Store.ScanIndex(ctx, indexCampaignAll, base, func(key string, _ []byte) error {
		taken[key] = true
		return nil
	})
	return taken, err
}

// Tokens returns every stored token, oldest first.
func (c *Catalog) Tokens(ctx context.Context) ([]dialerd.Token, error) {
	var out []dialerd.Token
	err := c.Store.ScanIndex(ctx, indexTokenAll, "", func(id string, _ []byte) error {
		rec, err := c.Store.Get(ctx, KindToken+"/"+id, "rec")
		if err != nil || rec == nil {
			return err
		}
		var r TokenRecord
		if err := json.NewDecoder(bytes.NewReader(rec)).Decode(&r); err != nil {
			return err
		}
		out = append(out, r.Token)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, err
}

// ListFilter narrows a list listing; empty fields match all.
type ListFilter struct {
	Campaign  string
	Workspace string
}

// Lists returns the JSON documents of the lists p can see that match f,
// oldest first.
func (c *Catalog) Lists(ctx context.Context, p dialerd.Principal, f ListFilter) ([]json.RawMessage, error) {
	ids := map[string]bool{}
	var err error
	switch {
	case f.Campaign != "":
		err = c.collect(ctx, ids, indexListCampaign, f.Campaign+"\x00")
	case f.Workspace != "":
		if !p.Covers(f.Workspace) {
			return []json.RawMessage{}, nil
		}
		err = c.collect(ctx, ids, indexListWS, f.Workspace+"\x00")
	case p.Admin:
		err = c.collect(ctx, ids, indexListAll, "")
	default:
		for _, ws := range p.Workspaces {
			if err = c.collect(ctx, ids, indexListWS, ws+"\x00"); err != nil {
				break
			}
		}
	}
	if err != nil {
		return nil, err
	}
	return c.docs(ctx, KindList, ids, func(doc []byte) (time.Time, bool, error) {
		var l dialerd.ProspectList
		if err := json.Unmarshal(doc, &l); err != nil {
			return time.Time{}, false, err
		}
		keep := p.Covers(l.WorkspaceID()) && (f.Workspace == "" || l.WorkspaceID() == f.Workspace) && (f.Campaign == "" || l.Campaign == f.Campaign)
		return l.CreatedAt, keep, nil
	})
}
