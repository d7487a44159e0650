package load

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"strconv"
	"strings"

	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/bench/prospectgen"
	"github.com/dialerd/dialerd/intake"
)

// Spec sizes a Dataset. Zero fields take the defaults in brackets.
type Spec struct {
	Seed uint64
	// Campaigns is how many fixture campaigns Setup creates for get, patch
	// and status to read [64]; requests spread over them evenly.
	Campaigns int
	// People is how many prospectgen rows give the names, emails and
	// custom fields of single adds, and the exchanges their numbers are
	// drawn from [1000].
	People int
	// Uploads is how many distinct CSV files the upload op cycles through
	// [4], of UploadRows rows each [100].
	Uploads    int
	UploadRows int
	// Workspace goes into every campaign body ["ws_load"].
	Workspace string
}

func (s *Spec) defaults() {
	if s.Campaigns <= 0 {
		s.Campaigns = 64
	}
	if s.People <= 0 {
		s.People = 1000
	}
	if s.Uploads <= 0 {
		s.Uploads = 4
	}
	if s.UploadRows <= 0 {
		s.UploadRows = 100
	}
	if s.Workspace == "" {
		s.Workspace = "ws_load"
	}
}

// Dataset is the data of a run, generated from a seed: the same Spec gives
// byte-identical bodies, so two runs (or two servers) see the same
// requests. Request k's data is a function of the seed and k alone, never
// of what ran before it.
//
// Slugs, AddList and UploadList start as the names the server is expected
// to derive from the fixtures' names; Setup replaces them with what the
// server answered. They must not change while a run is in progress.
type Dataset struct {
	Spec Spec
	// Slugs are the fixture campaigns' slugs.
	Slugs []string
	// AddList and UploadList address the lists (slug or id) that single
	// adds and uploads go to. They belong to different fixture campaigns
	// because dedupe works across a campaign's lists, and the numbers of
	// an upload must not make an add a duplicate.
	AddList, UploadList string

	people    []person
	exchanges []uint32 // npa·1000 + nxx, every line of which is valid
	// Phone k is the k-th element of a permutation of every number of
	// the exchanges, x → (mul·x + add) mod space: no repeats, no set.
	mul, add, space uint64
	uploads         []Upload
}

// Upload is one file of the upload op, framed as multipart/form-data.
type Upload struct {
	Body        []byte
	ContentType string
	// Stats are prospectgen's counts for the file: what the server
	// should report once it has ingested it (with dedupe, into an empty
	// list).
	Stats prospectgen.Stats
}

type person struct {
	First, Last, Email, Company, Plan, Notes string
}

// NewDataset generates the dataset of s.
func NewDataset(s Spec) (*Dataset, error) {
	s.defaults()
	d := &Dataset{Spec: s}
	for j := 0; j < s.Campaigns; j++ {
		d.Slugs = append(d.Slugs, dialerd.Slugify(d.FixtureName(j)))
	}
	d.AddList = dialerd.Slugify(d.ListName(0))
	d.UploadList = dialerd.Slugify(d.ListName(1))
	if err := d.readPeople(); err != nil {
		return nil, err
	}
	r := stream(s.Seed, 1<<58)
	d.space = uint64(len(d.exchanges)) * 10000
	d.mul = r.next()%d.space | 1
	for gcd(d.mul, d.space) != 1 {
		d.mul += 2
	}
	d.add = r.next() % d.space
	for j := 0; j < s.Uploads; j++ {
		u, err := d.makeUpload(j)
		if err != nil {
			return nil, err
		}
		d.uploads = append(d.uploads, u)
	}
	return d, nil
}

// readPeople takes a prospectgen file of People rows: its names and notes
// for the adds' bodies, and the exchanges of its valid numbers (by the
// server's own parser), every line of which prospectgen vouches for.
func (d *Dataset) readPeople() error {
	var buf bytes.Buffer
	if _, err := prospectgen.Write(&buf, d.Spec.People, d.Spec.Seed); err != nil {
		return err
	}
	parser, err := intake.ParserFor("USCA") // built once per process
	if err != nil {
		return err
	}
	cr := csv.NewReader(&buf)
	if _, err := cr.Read(); err != nil { // header
		return err
	}
	seen := map[uint32]bool{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		// phone,First Name,last_name,email,state,zip,company,plan,notes
		d.people = append(d.people, person{rec[1], rec[2], rec[3], rec[6], rec[7], rec[8]})
		n, err := parser.Parse(rec[0])
		if err != nil || len(n.E164) != 12 || !strings.HasPrefix(n.E164, "+1") {
			continue
		}
		x, _ := strconv.ParseUint(n.E164[2:8], 10, 32)
		if !seen[uint32(x)] {
			seen[uint32(x)] = true
			d.exchanges = append(d.exchanges, uint32(x))
		}
	}
	if len(d.exchanges) == 0 {
		return errors.New("load: the dataset has no valid phone number to draw from")
	}
	return nil
}

func (d *Dataset) makeUpload(j int) (Upload, error) {
	var csvBuf bytes.Buffer
	st, err := prospectgen.Write(&csvBuf, d.Spec.UploadRows, d.Spec.Seed^uint64(j+1)<<40)
	if err != nil {
		return Upload{}, err
	}
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	// A fixed boundary: the random default would make bodies differ
	// from run to run.
	if err := mw.SetBoundary(fmt.Sprintf("dialerd-load-%016x-%d", d.Spec.Seed, j)); err != nil {
		return Upload{}, err
	}
	if err := mw.WriteField("dedupe", "true"); err != nil {
		return Upload{}, err
	}
	fw, err := mw.CreateFormFile("file", fmt.Sprintf("load-%d.csv", j))
	if err != nil {
		return Upload{}, err
	}
	if _, err := fw.Write(csvBuf.Bytes()); err != nil {
		return Upload{}, err
	}
	if err := mw.Close(); err != nil {
		return Upload{}, err
	}
	return Upload{Body: b.Bytes(), ContentType: mw.FormDataContentType(), Stats: st}, nil
}

// FixtureName is the name of fixture campaign j.
func (d *Dataset) FixtureName(j int) string {
	return fmt.Sprintf("Load s%d fixture %d", d.Spec.Seed, j)
}

// ListName is the name of fixture list j: 0 for adds, 1 for uploads.
func (d *Dataset) ListName(j int) string {
	return fmt.Sprintf("load-s%d-%s", d.Spec.Seed, [...]string{"adds", "uploads"}[j])
}

// campaignBody is a campaign as created; field order is fixed, so the
// bytes are.
type campaignBody struct {
	Name                 string  `json:"name"`
	Workspace            string  `json:"workspace"`
	LocaleName           string  `json:"locale_name"`
	CallRatio            float64 `json:"call_ratio"`
	DialerInterval       int     `json:"dialer_interval"`
	MaxNumberCalls       int     `json:"max_number_calls"`
	MinTimeBetweenCalls  int     `json:"min_time_between_calls"`
	EarliestProspectTime string  `json:"earliest_prospect_time"`
	LatestProspectTime   string  `json:"latest_prospect_time"`
	QueueStrategy        string  `json:"queue_strategy,omitempty"`
}

var (
	campaignWords = [...]string{"Spring Renewals", "Winter Promo", "Past Due", "Welcome Calls", "Survey", "Win Back", "Appointment Reminders", "Upsell"}
	strategies    = [...]string{"longest-idle-agent", "round-robin", "top-down", "agent-with-least-talk-time", "random"}
)

func (d *Dataset) campaign(name string, r *rng) []byte {
	c := campaignBody{
		Name: name, Workspace: d.Spec.Workspace, LocaleName: "USCA",
		CallRatio:            float64(2+r.intn(5)) / 2, // 1 to 3 by halves
		DialerInterval:       []int{5, 10, 15}[r.intn(3)],
		MaxNumberCalls:       1 + r.intn(10),
		MinTimeBetweenCalls:  []int{15, 30, 60, 120}[r.intn(4)],
		EarliestProspectTime: fmt.Sprintf("%02d:00", 8+r.intn(3)),
		LatestProspectTime:   fmt.Sprintf("%02d:30", 17+r.intn(4)),
	}
	if r.intn(2) == 0 {
		c.QueueStrategy = strategies[r.intn(len(strategies))]
	}
	b, _ := json.Marshal(c)
	return b
}

// FixtureBody is the body that creates fixture campaign j.
func (d *Dataset) FixtureBody(j int) []byte {
	return d.campaign(d.FixtureName(j), stream(d.Spec.Seed, 1<<62|uint64(j)))
}

// CreateBody is the body of create request k: a campaign whose name no
// other request of the run uses.
func (d *Dataset) CreateBody(k int64) []byte {
	r := stream(d.Spec.Seed, uint64(k))
	name := fmt.Sprintf("Load s%d n%d %s", d.Spec.Seed, k, campaignWords[r.intn(len(campaignWords))])
	return d.campaign(name, r)
}

// PatchBody is the body of patch request k: one to three settings changed.
func (d *Dataset) PatchBody(k int64) []byte {
	r := stream(d.Spec.Seed, 1<<61|uint64(k))
	var b []byte
	b = append(b, '{')
	field := func(name, value string) {
		if len(b) > 1 {
			b = append(b, ", "...)
		}
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, `": `...)
		b = append(b, value...)
	}
	pick := 1 + r.intn(7) // a non-empty subset of three fields
	if pick&1 != 0 {
		field("call_ratio", strconv.FormatFloat(float64(2+r.intn(5))/2, 'f', 1, 64))
	}
	if pick&2 != 0 {
		field("max_number_calls", strconv.Itoa(1+r.intn(10)))
	}
	if pick&4 != 0 {
		field("min_time_between_calls", strconv.Itoa([]int{15, 30, 60, 120}[r.intn(4)]))
	}
	return append(b, '}')
}

// Slug is the fixture campaign that get, patch or status request k reads.
func (d *Dataset) Slug(k int64) string {
	return d.Slugs[stream(d.Spec.Seed, 1<<60|uint64(k)).next()%uint64(len(d.Slugs))]
}

// Phone is the k-th phone number of the run, in E.164: a valid US or
// Canadian number, distinct for every k below Capacity.
func (d *Dataset) Phone(k int64) string {
	npa, nxx, line := d.number(k)
	return fmt.Sprintf("+1%03d%03d%04d", npa, nxx, line)
}

// Capacity is how many distinct numbers Phone gives.
func (d *Dataset) Capacity() int64 { return int64(d.space) }

func (d *Dataset) number(k int64) (npa, nxx, line int) {
	x := (d.mul*(uint64(k)%d.space) + d.add) % d.space
	ex := d.exchanges[x%uint64(len(d.exchanges))]
	return int(ex / 1000), int(ex % 1000), int(x / uint64(len(d.exchanges)))
}

// Prospect is the person single add k adds.
type Prospect struct {
	// Phone is number k as a person would type it (E.164, (NPA) NXX-XXXX
	// or NPA.NXX.XXXX, in turn); E164 is the same number normalised.
	Phone, E164                string
	FirstName, LastName, Email string
	// Fields are the custom columns: company, plan, notes (when not
	// empty).
	Fields map[string]string
}

// Prospect is the person of single add k: number k and a person of the
// pool.
func (d *Dataset) Prospect(k int64) Prospect {
	npa, nxx, line := d.number(k)
	p := Prospect{E164: fmt.Sprintf("+1%03d%03d%04d", npa, nxx, line)}
	switch k % 3 {
	case 0:
		p.Phone = p.E164
	case 1:
		p.Phone = fmt.Sprintf("(%03d) %03d-%04d", npa, nxx, line)
	default:
		p.Phone = fmt.Sprintf("%03d.%03d.%04d", npa, nxx, line)
	}
	who := d.people[stream(d.Spec.Seed, 1<<59|uint64(k)).next()%uint64(len(d.people))]
	p.FirstName, p.LastName, p.Email = who.First, who.Last, who.Email
	for _, f := range [...][2]string{{"company", who.Company}, {"plan", who.Plan}, {"notes", who.Notes}} {
		if f[1] != "" {
			if p.Fields == nil {
				p.Fields = map[string]string{}
			}
			p.Fields[f[0]] = f[1]
		}
	}
	return p
}

// DialerdProspectJSON is p as dialerd's single add takes it in JSON.
func DialerdProspectJSON(p Prospect) []byte {
	// Field order is fixed, and encoding/json sorts the map's keys: the
	// same prospect gives the same bytes.
	b, _ := json.Marshal(struct {
		Phone     string            `json:"primary_phone"`
		FirstName string            `json:"first_name,omitempty"`
		LastName  string            `json:"last_name,omitempty"`
		Email     string            `json:"email,omitempty"`
		Fields    map[string]string `json:"fields,omitempty"`
	}{p.Phone, p.FirstName, p.LastName, p.Email, p.Fields})
	return b
}

// AddBody is the body of dialerd's single add request k.
func (d *Dataset) AddBody(k int64) []byte { return DialerdProspectJSON(d.Prospect(k)) }

// Upload is the file upload request k sends.
func (d *Dataset) Upload(k int64) Upload { return d.uploads[uint64(k)%uint64(len(d.uploads))] }

// Uploads are every file of the upload op.
func (d *Dataset) Uploads() []Upload { return d.uploads }

// ListBody is the body that creates fixture list j in campaign.
func (d *Dataset) ListBody(j int, campaign string) []byte {
	b, _ := json.Marshal(struct {
		Name     string `json:"name"`
		Campaign string `json:"campaign"`
	}{d.ListName(j), campaign})
	return b
}

// rng is splitmix64: a few well-mixed numbers from (seed, key) without the
// allocation of a math/rand generator per request.
type rng struct{ s uint64 }

func stream(seed, key uint64) *rng {
	r := &rng{seed}
	r.s = r.next() ^ key*0x9e3779b97f4a7c15
	r.next()
	return r
}

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
