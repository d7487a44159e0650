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
	slugs := map[string]bool{}
	collect := func(index, prefix string) error {
		return c.Store.ScanIndex(ctx, index, prefix, func(key string, _ []byte) error {
			slugs[key[strings.LastIndexByte(key, 0)+1:]] = true
			return nil
		})
	}
	var err error
	switch {
	case f.Workspace != "":
		if !p.Covers(f.Workspace) {
			return []json.RawMessage{}, nil
		}
		err = collect(indexCampaignWS, f.Workspace+"\x00")
	case f.Email != "":
		err = collect(indexCampaignEmail, strings.ToLower(f.Email)+"\x00")
	case p.Admin:
		err = c.Store.ScanIndex(ctx, indexCampaignAll, "", func(key string, _ []byte) error {
			slugs[key] = true
			return nil
		})
	default:
		for _, ws := range p.Workspaces {
			if err = collect(indexCampaignWS, ws+"\x00"); err != nil {
				break
			}
		}
	}
	if err != nil {
		return nil, err
	}
	type item struct {
		doc     json.RawMessage
		created time.Time
		slug    string
	}
	items := make([]item, 0, len(slugs))
	for slug := range slugs {
		doc, err := c.Store.Get(ctx, KindCampaign+"/"+slug, "doc")
		if err != nil {
			return nil, err
		} else if doc == nil {
			continue // deleted since the scan
		}
		var head struct {
			Workspace *string   `json:"workspace"`
			Email     *string   `json:"email"`
			CreatedAt time.Time `json:"created_at"`
		}
		if err := json.Unmarshal(doc, &head); err != nil {
			return nil, err
		}
		ws, email := "", ""
		if head.Workspace != nil {
			ws = *head.Workspace
		}
		if head.Email != nil {
			email = *head.Email
		}
		if !p.Covers(ws) || (f.Workspace != "" && ws != f.Workspace) || (f.Email != "" && !strings.EqualFold(email, f.Email)) {
			continue
		}
		items = append(items, item{doc, head.CreatedAt, slug})
	}
	sort.Slice(items, func(i, j int) bool {
		if !items[i].created.Equal(items[j].created) {
			return items[i].created.Before(items[j].created)
		}
		return items[i].slug < items[j].slug
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
	uuids := map[string]bool{}
	collect := func(index, prefix string) error {
		return c.Store.ScanIndex(ctx, index, prefix, func(key string, _ []byte) error {
			uuids[key[strings.LastIndexByte(key, 0)+1:]] = true
			return nil
		})
	}
	var err error
	switch {
	case f.Campaign != "":
		err = collect(indexListCampaign, f.Campaign+"\x00")
	case f.Workspace != "":
		if !p.Covers(f.Workspace) {
			return []json.RawMessage{}, nil
		}
		err = collect(indexListWS, f.Workspace+"\x00")
	case p.Admin:
		err = collect(indexListAll, "")
	default:
		for _, ws := range p.Workspaces {
			if err = collect(indexListWS, ws+"\x00"); err != nil {
				break
			}
		}
	}
	if err != nil {
		return nil, err
	}
	type item struct {
		doc     json.RawMessage
		created time.Time
		uuid    string
	}
	items := make([]item, 0, len(uuids))
	for id := range uuids {
		doc, err := c.Store.Get(ctx, KindList+"/"+id, "doc")
		if err != nil {
			return nil, err
		} else if doc == nil {
			continue
		}
		var l dialerd.ProspectList
		if err := json.Unmarshal(doc, &l); err != nil {
			return nil, err
		}
		if !p.Covers(l.WorkspaceID()) || (f.Workspace != "" && l.WorkspaceID() != f.Workspace) || (f.Campaign != "" && l.Campaign != f.Campaign) {
			continue
		}
		items = append(items, item{doc, l.CreatedAt, id})
	}
	sort.Slice(items, func(i, j int) bool {
		if !items[i].created.Equal(items[j].created) {
			return items[i].created.Before(items[j].created)
		}
		return items[i].uuid < items[j].uuid
	})
	out := make([]json.RawMessage, len(items))
	for i, it := range items {
		out[i] = it.doc
	}
	return out, nil
}
