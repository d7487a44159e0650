package pgstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nyaruka/phonenumbers"

	"github.com/dialerd/dialerd"
)

// Prospect is a row of prospects as the API answers it.
type Prospect struct {
	ID            int64             `json:"id" db:"id"`
	List          string            `json:"list" db:"list"`
	Phone         string            `json:"phone" db:"phone"`
	State         string            `json:"state" db:"state"`
	Timezones     []string          `json:"timezones" db:"timezones"`
	Status        string            `json:"status" db:"status"`
	Attempts      int               `json:"attempts" db:"attempts"`
	LastAttemptAt *time.Time        `json:"last_attempt_at" db:"last_attempt_at"`
	NextCallAt    time.Time         `json:"next_call_at" db:"next_call_at"`
	CreatedAt     time.Time         `json:"created_at" db:"created_at"`
	Fields        map[string]string `json:"fields" db:"fields"`
}

const prospectColumns = "id, list, phone, state, timezones, status, attempts, last_attempt_at, next_call_at, created_at, fields"

// Bounds of the API: a body larger than a campaign or prospect could be is
// refused before it is read, and a lease is a batch a dialer can place.
const (
	maxBody         = 1 << 20
	defaultLease    = 100
	maxLease        = 1000
	maxSlugAttempts = 20
	leaseFor        = "24 hours"
)

type server struct{ pool *pgxpool.Pool }

// NewHandler serves the API on pool:
//
//	POST  /campaign/                 create (201, the campaign; its slug from its name)
//	GET   /campaign/{slug}/          the campaign
//	PATCH /campaign/{slug}/          merge the fields given (200, the campaign)
//	GET   /campaign/{slug}/status/   dialerd's status: prospect counts, attempts in 30 days
//	POST  /prospect/{list}/          add one prospect (201; 409 when the list has the number)
//	POST  /list/{list}/lease?n=100   the hopper: lease up to n due prospects to dial
//
// Campaign bodies and answers are dialerd's (dialerd.Campaign, validated
// by its ApplyJSON; dialerd.CampaignStatus); errors are dialerd's too: the
// field messages for a 400, else {"detail": …}.
func NewHandler(pool *pgxpool.Pool) http.Handler {
	s := &server{pool: pool}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /campaign/{$}", s.createCampaign)
	mux.HandleFunc("GET /campaign/{slug}/{$}", s.getCampaign)
	mux.HandleFunc("PATCH /campaign/{slug}/{$}", s.patchCampaign)
	mux.HandleFunc("GET /campaign/{slug}/status/{$}", s.campaignStatus)
	mux.HandleFunc("POST /prospect/{list}/{$}", s.addProspect)
	mux.HandleFunc("POST /list/{list}/lease", s.lease)
	return mux
}

func (s *server) createCampaign(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	c := dialerd.NewCampaign()
	if err := c.ApplyJSON(body); err != nil {
		writeError(w, r, err)
		return
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	c.ID, c.CreatedAt, c.UpdatedAt = uuid.NewString(), now, now
	doc, err := s.insertCampaign(r.Context(), &c)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, doc)
}

// insertCampaign stores c under the first free slug of its name: the name's
// slug, else with -2, -3, … as dialerd numbers them. The insert itself
// decides (ON CONFLICT), so concurrent creates of one name each get their
// own; the taken slugs are read only once the plain one is.
func (s *server) insertCampaign(ctx context.Context, c *dialerd.Campaign) ([]byte, error) {
	base := dialerd.Slugify(c.Name)
	var taken map[string]bool
	n := 1
	for attempt := 0; attempt < maxSlugAttempts; attempt++ {
		c.Slug = base
		for ; taken != nil; n++ {
			if n > 1 {
				c.Slug = base + "-" + strconv.Itoa(n)
			}
			if !taken[c.Slug] {
				break
			}
		}
		doc, err := json.Marshal(c)
		if err != nil {
			return nil, err
		}
		tag, err := s.pool.Exec(ctx, `
			INSERT INTO campaigns (slug, name, workspace, agent_id, active, paused, call_ratio, dialer_interval,
				max_number_calls, min_time_between_calls, earliest_prospect_time, latest_prospect_time,
				created_at, updated_at, doc)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
			ON CONFLICT (slug) DO NOTHING`,
			c.Slug, c.Name, c.Workspace, c.AgentID, c.Active, c.Paused, c.CallRatio, c.DialerInterval,
			c.MaxNumberCalls, c.MinTimeBetweenCalls, c.EarliestProspectTime, c.LatestProspectTime,
			c.CreatedAt, c.UpdatedAt, doc)
		if err != nil {
			return nil, err
		}
		if tag.RowsAffected() == 1 {
			return doc, nil
		}
		if taken == nil {
			rows, _ := s.pool.Query(ctx, `SELECT slug FROM campaigns WHERE slug LIKE $1 || '-%'`, base)
			slugs, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return nil, err
			}
			taken = make(map[string]bool, len(slugs)+1)
			for _, s := range slugs {
				taken[s] = true
			}
		}
		taken[c.Slug] = true // lost a race for it, or it was the plain one
	}
	return nil, dialerd.Errorf(dialerd.EUNAVAILABLE, "Could not find a free slug for %q; try again.", base)
}

func (s *server) getCampaign(w http.ResponseWriter, r *http.Request) {
	slug, err := slugOf(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var doc []byte
	err = s.pool.QueryRow(r.Context(), `SELECT doc FROM campaigns WHERE slug = $1`, slug).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		err = campaignNotFound(slug)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, doc)
}

// patchCampaign reads the campaign under a row lock, so that two patches
// of one campaign apply one after the other instead of one undoing the
// other, and validates the result as a whole (earliest before latest…).
func (s *server) patchCampaign(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	slug, err := slugOf(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var doc []byte
	err = pgx.BeginFunc(r.Context(), s.pool, func(tx pgx.Tx) error {
		var old []byte
		err := tx.QueryRow(r.Context(), `SELECT doc FROM campaigns WHERE slug = $1 FOR UPDATE`, slug).Scan(&old)
		if errors.Is(err, pgx.ErrNoRows) {
			return campaignNotFound(slug)
		} else if err != nil {
			return err
		}
		var c dialerd.Campaign
		if err := json.Unmarshal(old, &c); err != nil {
			return err
		}
		prev := c.UpdatedAt
		if err := c.ApplyJSON(body); err != nil {
			return err
		}
		c.UpdatedAt = time.Now().UTC().Truncate(time.Microsecond)
		if !c.UpdatedAt.After(prev) {
			c.UpdatedAt = prev.Add(time.Microsecond) // strictly increasing, as dialerd keeps it
		}
		if doc, err = json.Marshal(&c); err != nil {
			return err
		}
		_, err = tx.Exec(r.Context(), `
			UPDATE campaigns SET name = $2, workspace = $3, agent_id = $4, active = $5, paused = $6,
				call_ratio = $7, dialer_interval = $8, max_number_calls = $9, min_time_between_calls = $10,
				earliest_prospect_time = $11, latest_prospect_time = $12, updated_at = $13, doc = $14
			WHERE slug = $1`,
			slug, c.Name, c.Workspace, c.AgentID, c.Active, c.Paused,
			c.CallRatio, c.DialerInterval, c.MaxNumberCalls, c.MinTimeBetweenCalls,
			c.EarliestProspectTime, c.LatestProspectTime, c.UpdatedAt, doc)
		return err
	})
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, doc)
}

// campaignStatus counts in one query, the usual way: the prospects of the
// campaign's lists by state, and its calls in the last 30 days (an index
// range on calls (campaign, started_at)).
func (s *server) campaignStatus(w http.ResponseWriter, r *http.Request) {
	slug, err := slugOf(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var (
		doc      []byte
		p        dialerd.ProspectCounts
		attempts int
	)
	err = s.pool.QueryRow(r.Context(), `
		SELECT c.doc, p.total, p.unresolved, p.dialable,
			(SELECT count(*) FROM calls WHERE campaign = c.slug AND started_at > now() - interval '30 days')
		FROM campaigns c CROSS JOIN LATERAL (
			SELECT count(*) AS total,
				count(*) FILTER (WHERE status = 'unresolved') AS unresolved,
				count(*) FILTER (WHERE status = 'unresolved' AND next_call_at <= now()) AS dialable
			FROM prospects WHERE list IN (SELECT id FROM lists WHERE campaign = c.slug)) p
		WHERE c.slug = $1`, slug).Scan(&doc, &p.Total, &p.Unresolved, &p.DialableNow, &attempts)
	if errors.Is(err, pgx.ErrNoRows) {
		err = campaignNotFound(slug)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	var c dialerd.Campaign
	if err := json.Unmarshal(doc, &c); err != nil {
		writeError(w, r, err)
		return
	}
	// No calls are in progress and no seats exist here: this stack has no
	// telephony, only the bookkeeping a dialer would do around it.
	st := dialerd.ComputeStatus(&c, dialerd.StatusInput{Prospects: p})
	st.Attempts30d = attempts
	out, err := json.Marshal(st)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// prospectBody is a single prospect to add. The number is normalised to
// E.164 (as dialerd does, with libphonenumber), so that the unique index
// sees one spelling of it.
type prospectBody struct {
	Phone    string            `json:"phone"`
	State    string            `json:"state"`
	Timezone string            `json:"timezone"`
	Fields   map[string]string `json:"fields"`
}

func (s *server) addProspect(w http.ResponseWriter, r *http.Request) {
	list, err := listID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var in prospectBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		writeError(w, r, dialerd.Errorf(dialerd.EINVALID, "Malformed JSON: %v", err))
		return
	}
	num, err := phonenumbers.Parse(in.Phone, "US")
	if err != nil || !phonenumbers.IsValidNumber(num) {
		writeError(w, r, &dialerd.Error{Code: dialerd.EINVALID, Message: "Invalid input.",
			Fields: map[string][]string{"phone": {"Enter a valid phone number."}}})
		return
	}
	zones := []string{}
	if in.Timezone != "" {
		zones = append(zones, in.Timezone)
	}
	if in.Fields == nil {
		in.Fields = map[string]string{}
	}
	rows, _ := s.pool.Query(r.Context(), `
		INSERT INTO prospects (list, phone, state, timezones, fields) VALUES ($1, $2, $3, $4, $5)
		RETURNING `+prospectColumns,
		list, phonenumbers.Format(num, phonenumbers.E164), in.State, zones, in.Fields)
	p, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Prospect])
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" { // unique_violation: prospects_list_phone
		err = dialerd.Errorf(dialerd.ECONFLICT, "%s is already in list %s.", phonenumbers.Format(num, phonenumbers.E164), list)
	} else if errors.As(err, &pe) && pe.Code == "23503" { // foreign_key_violation: no such list
		err = listNotFound(list)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	out, err := json.Marshal(p)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

// lease is the hopper (Lease) over HTTP. The answer is the leased rows as
// they are after the update, in no particular order; an unknown list
// leases nothing.
func (s *server) lease(w http.ResponseWriter, r *http.Request) {
	list, err := listID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	n := defaultLease
	if q := r.URL.Query().Get("n"); q != "" {
		if n, err = strconv.Atoi(q); err != nil || n < 1 || n > maxLease {
			writeError(w, r, &dialerd.Error{Code: dialerd.EINVALID, Message: "Invalid input.",
				Fields: map[string][]string{"n": {fmt.Sprintf("Must be an integer from 1 to %d.", maxLease)}}})
			return
		}
	}
	leased, err := Lease(r.Context(), s.pool, list, n)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out, err := json.Marshal(leased)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// slugOf answers a slug dialerd could not have made with a 404 without
// asking PostgreSQL, as dialerd does.
func slugOf(r *http.Request) (string, error) {
	slug := r.PathValue("slug")
	if !dialerd.ValidSlug(slug) {
		return "", campaignNotFound(slug)
	}
	return slug, nil
}

// listID checks the path's list before PostgreSQL is asked, so that a bad
// one is a 404 and not a failed cast.
func listID(r *http.Request) (string, error) {
	id := r.PathValue("list")
	if _, err := uuid.Parse(id); err != nil {
		return "", listNotFound(id)
	}
	return id, nil
}

func campaignNotFound(slug string) error {
	return dialerd.Errorf(dialerd.ENOTFOUND, "Campaign %q not found.", slug)
}

func listNotFound(id string) error {
	return dialerd.Errorf(dialerd.ENOTFOUND, "List %q not found.", id)
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, dialerd.Errorf(dialerd.ETOOLARGE, "Request body over %d bytes.", maxBody)
	}
	return b, err
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// errorStatus maps dialerd's error codes to HTTP as its API does.
var errorStatus = map[string]int{
	dialerd.EINVALID:     http.StatusBadRequest,
	dialerd.ENOTFOUND:    http.StatusNotFound,
	dialerd.ECONFLICT:    http.StatusConflict,
	dialerd.ETOOLARGE:    http.StatusRequestEntityTooLarge,
	dialerd.EUNAVAILABLE: http.StatusServiceUnavailable,
}

func writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := dialerd.ErrorCode(err)
	status, ok := errorStatus[code]
	if !ok {
		status = http.StatusInternalServerError
		slog.Error("pgstack: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	var body []byte
	var de *dialerd.Error
	if errors.As(err, &de) && code == dialerd.EINVALID && len(de.Fields) > 0 {
		body, _ = json.Marshal(de.Fields)
	} else {
		body, _ = json.Marshal(map[string]string{"detail": dialerd.ErrorMessage(err)})
	}
	writeJSON(w, status, body)
}

// Lease is the hopper's transaction, callable without HTTP (the bench
// measures it against dialerd's lease in-process): it takes up to n due
// prospects of list, oldest due first, marks them attempted and not due
// for 24 hours, and records a call for each, all in one transaction. FOR
// UPDATE SKIP LOCKED lets concurrent leases of one list each take rows the
// others did not, instead of queueing behind them or leasing a prospect
// twice.
func Lease(ctx context.Context, pool *pgxpool.Pool, list string, n int) ([]Prospect, error) {
	leased := []Prospect{}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `
			SELECT id FROM prospects
			WHERE list = $1 AND status = 'unresolved' AND next_call_at <= now()
			ORDER BY next_call_at LIMIT $2
			FOR UPDATE SKIP LOCKED`, list, n)
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil || len(ids) == 0 {
			return err
		}
		rows, _ = tx.Query(ctx, `
			UPDATE prospects
			SET attempts = attempts + 1, last_attempt_at = now(), next_call_at = now() + interval '`+leaseFor+`'
			WHERE id = ANY($1)
			RETURNING `+prospectColumns, ids)
		if leased, err = pgx.CollectRows(rows, pgx.RowToStructByName[Prospect]); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO calls (campaign, prospect, started_at)
			SELECT l.campaign, p.id, now() FROM lists l CROSS JOIN unnest($2::bigint[]) AS p(id)
			WHERE l.id = $1`, list, ids)
		return err
	})
	return leased, err
}
