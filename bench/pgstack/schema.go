// Package pgstack is the conventional stack the benchmarks measure dialerd
// against: what a team would build instead, a net/http service on a
// PostgreSQL schema through pgx's connection pool, serving the same
// operations — campaigns created, read, patched and their status computed,
// prospects added one at a time, and the hopper that leases due prospects
// to dial.
//
// It is meant to be written the way such a team would, not to lose: the
// pool's defaults, pgx's statement cache, an index for every lookup, the
// usual SKIP LOCKED queue, and dialerd's own campaign validation and JSON
// (package dialerd), so that both sides do the same work per request.
//
// Mount NewHandler on a server (http.StripPrefix("/api/v", …) gives it
// dialerd's paths), create the tables with Schema, and load data for a run
// with SeedCampaigns, SeedList and SeedProspects.
package pgstack

// Schema creates the tables and indexes (idempotently: IF NOT EXISTS). It
// holds several statements, so run it with Exec and no arguments, which
// pgx sends as one simple-protocol query.
//
// A campaign's columns are the fields a query would filter on; doc is the
// whole campaign as the API returns it, so a read is one row and no
// marshalling. Prospects are deduplicated per list by a unique index on
// (list, phone), and the hopper reads a partial index of the unresolved
// ones by list and next call time, so leasing stays an index range scan
// however many prospects are resolved.
const Schema = `
CREATE TABLE IF NOT EXISTS campaigns (
	slug                   text PRIMARY KEY,
	name                   text NOT NULL,
	workspace              text,
	agent_id               text,
	active                 boolean NOT NULL,
	paused                 boolean NOT NULL,
	call_ratio             float8 NOT NULL,
	dialer_interval        int NOT NULL,
	max_number_calls       int NOT NULL,
	min_time_between_calls int NOT NULL,
	earliest_prospect_time text NOT NULL,
	latest_prospect_time   text NOT NULL,
	created_at             timestamptz NOT NULL,
	updated_at             timestamptz NOT NULL,
	doc                    jsonb NOT NULL
);

CREATE TABLE IF NOT EXISTS lists (
	id       uuid PRIMARY KEY,
	campaign text NOT NULL REFERENCES campaigns (slug)
);
CREATE INDEX IF NOT EXISTS lists_campaign ON lists (campaign);

CREATE TABLE IF NOT EXISTS prospects (
	id              bigserial PRIMARY KEY,
	list            uuid NOT NULL REFERENCES lists (id),
	phone           text NOT NULL,
	state           text NOT NULL DEFAULT '',
	timezones       text[] NOT NULL DEFAULT '{}',
	status          text NOT NULL DEFAULT 'unresolved',
	attempts        int NOT NULL DEFAULT 0,
	last_attempt_at timestamptz,
	next_call_at    timestamptz NOT NULL DEFAULT now(),
	created_at      timestamptz NOT NULL DEFAULT now(),
	fields          jsonb NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX IF NOT EXISTS prospects_list_phone ON prospects (list, phone);
CREATE INDEX IF NOT EXISTS prospects_hopper ON prospects (list, next_call_at) WHERE status = 'unresolved';

CREATE TABLE IF NOT EXISTS calls (
	id         bigserial PRIMARY KEY,
	campaign   text NOT NULL REFERENCES campaigns (slug),
	prospect   bigint NOT NULL REFERENCES prospects (id),
	started_at timestamptz NOT NULL DEFAULT now(),
	outcome    text
);
CREATE INDEX IF NOT EXISTS calls_campaign_started ON calls (campaign, started_at);
`
