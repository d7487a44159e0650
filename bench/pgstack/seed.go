package pgstack

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dialerd/dialerd"
)

// SeedCampaigns creates n campaigns named "<prefix> 1" … "<prefix> n", with
// dialerd's defaults, in one COPY, and returns their slugs (the slugs of
// those names, so a prefix already used is a unique-violation error).
func SeedCampaigns(ctx context.Context, pool *pgxpool.Pool, prefix string, n int) ([]string, error) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	slugs := make([]string, 0, n)
	rows := make([][]any, 0, n)
	for i := 1; i <= n; i++ {
		c := dialerd.NewCampaign()
		c.Name = prefix + " " + strconv.Itoa(i)
		if err := c.Validate(); err != nil { // normalises the times as the API would
			return nil, fmt.Errorf("campaign %q: %w", c.Name, err)
		}
		c.ID, c.Slug, c.CreatedAt, c.UpdatedAt = uuid.NewString(), dialerd.Slugify(c.Name), now, now
		doc, err := json.Marshal(&c)
		if err != nil {
			return nil, err
		}
		slugs = append(slugs, c.Slug)
		rows = append(rows, []any{c.Slug, c.Name, c.Workspace, c.AgentID, c.Active, c.Paused, c.CallRatio,
			c.DialerInterval, c.MaxNumberCalls, c.MinTimeBetweenCalls, c.EarliestProspectTime, c.LatestProspectTime,
			c.CreatedAt, c.UpdatedAt, doc})
	}
	_, err := pool.CopyFrom(ctx, pgx.Identifier{"campaigns"}, []string{"slug", "name", "workspace", "agent_id",
		"active", "paused", "call_ratio", "dialer_interval", "max_number_calls", "min_time_between_calls",
		"earliest_prospect_time", "latest_prospect_time", "created_at", "updated_at", "doc"}, pgx.CopyFromRows(rows))
	if err != nil {
		return nil, err
	}
	return slugs, nil
}

// SeedList creates a list of the campaign and returns its id (the API has
// no route for it: lists are made by the seed alone).
func SeedList(ctx context.Context, pool *pgxpool.Pool, campaign string) (string, error) {
	id := uuid.NewString()
	_, err := pool.Exec(ctx, `INSERT INTO lists (id, campaign) VALUES ($1, $2)`, id, campaign)
	return id, err
}

// seedStates spreads the prospects over states of four time zones, with the
// zone a team would store beside each.
var seedStates = []struct{ state, zone string }{
	{"NY", "America/New_York"}, {"CA", "America/Los_Angeles"}, {"TX", "America/Chicago"},
	{"WA", "America/Los_Angeles"}, {"AL", "America/Chicago"}, {"ID", "America/Boise"},
	{"NJ", "America/New_York"}, {"PA", "America/New_York"}, {"CO", "America/Denver"},
}

// SeedProspects loads m unresolved prospects into the list with one COPY
// and returns how many it wrote. Prospect i (from 0) has the phone
// +1 followed by the ten digits of 2000000000 + i, unique in any one list.
// Every tenth (i % 10 == 9) is due 1 to 24 hours from now; the others
// were due up to 24 hours ago, so a lease finds nine in ten of the list
// due, and a run of under an hour never sees the rest become due.
//
// It ends with ANALYZE, so that the queries of a run are planned on the
// statistics a table of this size has in service, not on those of the
// empty one it was (autovacuum would get there later, during the run).
func SeedProspects(ctx context.Context, pool *pgxpool.Pool, list string, m int) (int64, error) {
	if _, err := uuid.Parse(list); err != nil {
		return 0, fmt.Errorf("list %q: %w", list, err)
	}
	now := time.Now()
	zones := make([][]string, len(seedStates))
	for i, s := range seedStates {
		zones[i] = []string{s.zone}
	}
	i := 0
	row := make([]any, 5)
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i == m {
			return nil, nil
		}
		next := now.Add(-time.Duration(i%86_400+1) * time.Second)
		if i%10 == 9 {
			next = now.Add(time.Hour + time.Duration(i%82_800)*time.Second)
		}
		st := i % len(seedStates)
		row[0], row[1], row[2], row[3], row[4] = list, "+1"+strconv.Itoa(2_000_000_000+i), seedStates[st].state, zones[st], next
		i++
		return row, nil
	})
	n, err := pool.CopyFrom(ctx, pgx.Identifier{"prospects"}, []string{"list", "phone", "state", "timezones", "next_call_at"}, src)
	if err != nil {
		return n, err
	}
	_, err = pool.Exec(ctx, "ANALYZE prospects")
	return n, err
}
