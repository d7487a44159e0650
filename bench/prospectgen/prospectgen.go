// Package prospectgen writes CSV files of prospects like those customers
// upload: phone numbers in the usual mix of formats over US and Canadian
// area codes, a few invalid numbers and duplicates, optional columns left
// empty, custom columns, and notes that need CSV quoting. The same rows and
// seed give the same bytes, and Write says how many rows an upload with
// dedupe should accept, so a benchmark can check the server's counts.
//
// It has no phone parser: the area codes and exchanges come from a table
// generated once from the phone package (libphonenumber), see table.go.
package prospectgen

//go:generate go run ./internal/mktable -o table.go

import (
	"bufio"
	"errors"
	"io"
	"math/rand/v2"
)

// Header is the first line of every file: phone, the canonical columns
// under some of their aliases, and three custom columns.
const Header = "phone,First Name,last_name,email,state,zip,company,plan,notes"

// Stats describe a written file. Accepted is what an upload with dedupe
// keeps: Rows less Invalid (numbers no parser takes) less Duplicates
// (valid numbers that appeared earlier in the file, in any format).
type Stats struct {
	Rows       int   `json:"rows"`
	Invalid    int   `json:"invalid"`
	Duplicates int   `json:"duplicates"`
	Accepted   int   `json:"accepted"`
	Bytes      int64 `json:"bytes"`
}

// Shares of the rows, per thousand.
const (
	invalidPerMille   = 20
	duplicatePerMille = 50
	statePercent      = 60
	zipPercent        = 80
	emailPercent      = 85
)

type area struct {
	npa       uint16
	country   string
	state     string
	exchanges []uint16
}

type exchange struct {
	npa, nxx uint16
	area     *area
}

// exchanges is the table flattened: numbers are drawn from it uniformly,
// which spreads them over every area code.
var exchanges = func() []exchange {
	var out []exchange
	for i := range areas {
		a := &areas[i]
		for _, nxx := range a.exchanges {
			out = append(out, exchange{a.npa, nxx, a})
		}
	}
	return out
}()

// Write writes a header and rows data rows to w.
func Write(w io.Writer, rows int, seed uint64) (Stats, error) {
	g, err := newGen(rows, seed)
	if err != nil {
		return Stats{}, err
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	n, _ := bw.WriteString(Header + "\n")
	g.stats.Bytes = int64(n)
	for i := 0; i < rows; i++ {
		line := g.row()
		bw.Write(line)
		g.stats.Bytes += int64(len(line))
	}
	if err := bw.Flush(); err != nil {
		return Stats{}, err
	}
	s := g.stats
	s.Accepted = s.Rows - s.Invalid - s.Duplicates
	return s, nil
}

type gen struct {
	r     *rand.Rand
	stats Stats
	// Fresh numbers are the fresh-th element of a permutation of every
	// number of the table (exchange × line), x → (mul·x + add) mod space,
	// so they never repeat and need no set to check; a duplicate is the
	// number of an earlier fresh index.
	mul, add, space uint64
	fresh           uint64
	buf             []byte
}

func newGen(rows int, seed uint64) (*gen, error) {
	g := &gen{r: rand.New(rand.NewPCG(seed, 0x5eed_0f_d1a1e7d)), buf: make([]byte, 0, 512)}
	g.space = uint64(len(exchanges)) * 10000
	if uint64(rows) > g.space {
		return nil, errors.New("prospectgen: more rows than distinct numbers in the table")
	}
	g.mul = g.r.Uint64N(g.space) | 1
	for gcd(g.mul, g.space) != 1 {
		g.mul += 2
	}
	g.add = g.r.Uint64N(g.space)
	return g, nil
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// number returns the exchange and line of the i-th fresh number.
func (g *gen) number(i uint64) (*exchange, int) {
	x := (g.mul*(i%g.space) + g.add) % g.space
	return &exchanges[x%uint64(len(exchanges))], int(x / uint64(len(exchanges)))
}

// row returns the next line, its newline included; the slice is reused.
func (g *gen) row() []byte {
	g.stats.Rows++
	b := g.buf[:0]
	var ex *exchange
	switch x := g.r.IntN(1000); {
	case x < invalidPerMille:
		g.stats.Invalid++
		b, ex = g.invalid(b)
	case x < invalidPerMille+duplicatePerMille && g.fresh > 0:
		g.stats.Duplicates++
		var line int
		ex, line = g.number(g.r.Uint64N(g.fresh))
		b = appendPhone(b, g.r.IntN(numFormats), int(ex.npa), int(ex.nxx), line)
	default:
		var line int
		ex, line = g.number(g.fresh)
		g.fresh++
		b = appendPhone(b, g.r.IntN(numFormats), int(ex.npa), int(ex.nxx), line)
	}
	b = g.person(b, ex)
	b = append(b, '\n')
	g.buf = b
	return b
}

// invalid appends a number no parser accepts: one digit short, letters in
// place of the last digits, or an area code starting with 0 or 1. The
// exchange it returns is nil for the last kind (no state to derive).
func (g *gen) invalid(b []byte) ([]byte, *exchange) {
	ex := &exchanges[g.r.IntN(len(exchanges))]
	line := g.r.IntN(10000)
	switch g.r.IntN(3) {
	case 0:
		b = appendPhone(b, g.r.IntN(numFormats), int(ex.npa), int(ex.nxx), line)
		return b[:len(b)-1], ex
	case 1:
		b = appendPhone(b, g.r.IntN(numFormats), int(ex.npa), int(ex.nxx), line)
		b[len(b)-1] = letters[g.r.IntN(len(letters))]
		b[len(b)-2] = letters[g.r.IntN(len(letters))]
		return b, ex
	default:
		return appendPhone(b, g.r.IntN(numFormats), g.r.IntN(200), int(ex.nxx), line), nil
	}
}

// letters avoids X and E, which the library reads as the start of an
// extension rather than as letters.
const letters = "ABCDFGHJKLMNPQRSTUVWYZ"

// person appends the columns after the phone.
func (g *gen) person(b []byte, ex *exchange) []byte {
	first, last := g.r.IntN(len(firstNames)), g.r.IntN(len(lastNames))
	b = append(b, ',')
	b = append(b, firstNames[first]...)
	b = append(b, ',')
	b = append(b, lastNames[last]...)
	b = append(b, ',')
	if g.r.IntN(100) < emailPercent {
		b = appendLower(b, firstNames[first])
		b = append(b, '.')
		b = appendLower(b, lastNames[last])
		if g.r.IntN(2) == 0 {
			b = append2(b, g.r.IntN(100))
		}
		b = append(b, '@')
		b = append(b, domains[g.r.IntN(len(domains))]...)
	}
	b = append(b, ',')
	if ex != nil && ex.area.state != "" && g.r.IntN(100) < statePercent {
		b = append(b, ex.area.state...)
	}
	b = append(b, ',')
	if g.r.IntN(100) < zipPercent {
		b = g.zip(b, ex)
	}
	b = append(b, ',')
	b = appendField(b, companies[g.r.IntN(len(companies))])
	b = append(b, ',')
	b = append(b, plans[g.r.IntN(len(plans))]...)
	b = append(b, ',')
	return appendField(b, g.note())
}

// zip appends a five-digit ZIP code, or a Canadian postal code (A1A 1A1)
// for a Canadian number.
func (g *gen) zip(b []byte, ex *exchange) []byte {
	if ex != nil && ex.area.country == "CA" {
		const postal = "ABCEGHJKLMNPRSTVXY"
		return append(b, postal[g.r.IntN(len(postal))], byte('0'+g.r.IntN(10)), postal[g.r.IntN(len(postal))], ' ',
			byte('0'+g.r.IntN(10)), postal[g.r.IntN(len(postal))], byte('0'+g.r.IntN(10)))
	}
	return append3(append2(b, g.r.IntN(100)), g.r.IntN(1000))
}

// note returns the notes column: often empty, sometimes text that CSV has
// to quote (commas, quotes, line breaks).
func (g *gen) note() string {
	switch x := g.r.IntN(100); {
	case x < 50:
		return ""
	case x < 80:
		return plainNotes[g.r.IntN(len(plainNotes))]
	default:
		return quotedNotes[g.r.IntN(len(quotedNotes))]
	}
}

// The phone formats, as people type them: +1 415 555 0123, (415) 555-0123,
// 415.555.0123, 4155550123, 1-415-555-0123, +14155550123.
const numFormats = 6

func appendPhone(b []byte, format, npa, nxx, line int) []byte {
	switch format {
	case 0:
		b = append(b, "+1 "...)
		b = append(append3(b, npa), ' ')
		b = append(append3(b, nxx), ' ')
	case 1:
		b = append(b, '(')
		b = append(append3(b, npa), ") "...)
		b = append(append3(b, nxx), '-')
	case 2:
		b = append(append3(b, npa), '.')
		b = append(append3(b, nxx), '.')
	case 3:
		b = append3(append3(b, npa), nxx)
	case 4:
		b = append(b, "1-"...)
		b = append(append3(b, npa), '-')
		b = append(append3(b, nxx), '-')
	default:
		b = append(b, "+1"...)
		b = append3(append3(b, npa), nxx)
	}
	return append2(append2(b, line/100), line%100)
}

func append2(b []byte, n int) []byte { return append(b, byte('0'+n/10), byte('0'+n%10)) }
func append3(b []byte, n int) []byte {
	return append(b, byte('0'+n/100), byte('0'+n/10%10), byte('0'+n%10))
}

func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// appendField appends s as a CSV field, quoted when it has to be.
func appendField(b []byte, s string) []byte {
	needs := false
	for i := 0; i < len(s) && !needs; i++ {
		switch s[i] {
		case ',', '"', '\n', '\r':
			needs = true
		}
	}
	if !needs {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

var firstNames = [...]string{
	"James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda",
	"David", "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica",
	"Thomas", "Sarah", "Charles", "Karen", "Daniel", "Lisa", "Matthew", "Nancy",
	"Anthony", "Sandra", "Mark", "Ashley", "Steven", "Emily", "Andrew", "Donna",
	"Olivia", "Liam", "Noah", "Emma", "Chloe", "Lucas", "Zoe", "Ethan",
	"Amelia", "Mateo", "Sofia", "Wei", "Priya", "Mohammed", "Aiko", "Juan",
}

var lastNames = [...]string{
	"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
	"Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas",
	"Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White",
	"Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young",
	"Tremblay", "Gagnon", "Roy", "Cote", "Bouchard", "Gauthier", "Morin", "Lavoie",
	"OConnor", "Nguyen", "Patel", "Kim", "Chen", "Singh", "Okafor", "Murphy",
}

var domains = [...]string{
	"example.com", "example.org", "example.net", "mail.example.com",
	"acme.example", "corp.example", "shop.example", "inbox.example",
}

var companies = [...]string{
	"", "", "", "Acme", "Globex", "Initech", "Umbrella", "Hooli",
	"Acme, Inc.", "Smith & Sons, LLC", "Northwind Traders", "Contoso",
	"Wayne Enterprises", "Stark Industries", "Tremblay Plomberie", `Joe's "Best" Pizza`,
}

var plans = [...]string{"", "free", "basic", "pro", "enterprise"}

var plainNotes = [...]string{
	"Call after 5pm", "Prefers email", "Interested in pro plan", "Left voicemail",
	"Spanish speaker", "Referred by a friend", "Renewal due next month", "Asked for a demo",
}

var quotedNotes = [...]string{
	"Busy, call back later",
	"Said \"not now\"",
	"Owner: Dana, not the front desk",
	"Line 1\nLine 2",
	"Asked about \"pro\", then hung up",
	"Moved offices,\nnew number pending",
	"\"VIP\" customer",
	"Wants a quote: 3 seats, annual, \"ASAP\"\r\nsee email",
}
