// Package compliance holds the legal calling rules of a locale as data:
// calling hours by region and weekday, the holidays a region bans calls on,
// and frequency caps per number. The rules live in versioned CSV files
// (data/<locale>/), each row with its source, loaded and validated at
// start; adding a locale is adding data. Holiday dates are computed with
// github.com/rickar/cal/v2 from the rows' rules.
//
// Everything here is pure: a local date or time in, a verdict out.
package compliance

import (
	"bytes"
	"embed"
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rickar/cal/v2"

	"github.com/dialerd/dialerd"
)

//go:embed data
var data embed.FS

// Window is a span of local time of day, in seconds since midnight:
// [Start, End). Closed when Start >= End.
type Window struct{ Start, End int }

// Closed reports whether no call fits.
func (w Window) Closed() bool { return w.Start >= w.End }

// Contains reports whether sec (seconds since midnight) is inside.
func (w Window) Contains(sec int) bool { return sec >= w.Start && sec < w.End }

// Intersect is the part of both windows.
func (w Window) Intersect(o Window) Window {
	return Window{Start: max(w.Start, o.Start), End: min(w.End, o.End)}
}

// Cap is a frequency cap: at most Calls attempts to one number in any Per.
type Cap struct {
	Calls int
	Per   time.Duration
}

// Rules are one locale's calling rules.
type Rules struct {
	Locale *dialerd.Locale
	// hours[region][weekday]: the legal window; a region without rows of
	// its own has its country's.
	hours    map[string]*[7]Window
	holidays map[string][]holiday
	caps     map[string]Cap

	mu     sync.RWMutex
	banned map[int]map[string]map[time.Time]string // year → region → date → holiday
}

type holiday struct {
	h     *cal.Holiday
	shift []cal.AltDay
	even  bool // election-even: even years only
}

// Load reads and validates the rules of locale from the embedded data.
func Load(locale string) (*Rules, error) {
	loc, ok := dialerd.Locales[locale]
	if !ok {
		return nil, fmt.Errorf("compliance: unknown locale %q", locale)
	}
	dir := "data/" + strings.ToLower(locale) + "/"
	read := func(name string) ([]byte, error) { return data.ReadFile(dir + name) }
	return parse(loc, read)
}

// MustLoad is Load for the locales the binary ships: their data is
// validated by the tests, so a failure is a bug.
func MustLoad(locale string) *Rules {
	r, err := Load(locale)
	if err != nil {
		panic(err)
	}
	return r
}

func parse(loc *dialerd.Locale, read func(string) ([]byte, error)) (*Rules, error) {
	r := &Rules{Locale: loc, hours: map[string]*[7]Window{}, holidays: map[string][]holiday{}, caps: map[string]Cap{}}
	countries := map[string]bool{}
	for _, reg := range loc.Regions {
		countries[reg.Country] = true
	}
	region := func(code string, countryOK bool) error {
		if _, ok := loc.Regions[code]; ok {
			return nil
		}
		if countryOK && countries[code] {
			return nil
		}
		return fmt.Errorf("unknown region %q", code)
	}
	// Hours: countries first, so a region's rows override its country's
	// for the days they name.
	rows, err := readCSV(read, "hours.csv", []string{"region", "days", "start", "end", "confidence", "source"})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(rows, func(i, j int) bool { return countries[rows[i].f[0]] && !countries[rows[j].f[0]] })
	for _, row := range rows {
		code, days, start, end, conf, src := row.f[0], row.f[1], row.f[2], row.f[3], row.f[4], row.f[5]
		if err := region(code, true); err != nil {
			return nil, row.err(err)
		}
		if err := checkRow(conf, src); err != nil {
			return nil, row.err(err)
		}
		wd, err := parseDays(days)
		if err != nil {
			return nil, row.err(err)
		}
		w := Window{}
		if start != "closed" {
			var ok1, ok2 bool
			w.Start, ok1 = dialerd.ParseTimeOfDay(start)
			w.End, ok2 = dialerd.ParseTimeOfDay(end)
			if !ok1 || !ok2 || w.Closed() {
				return nil, row.err(fmt.Errorf("bad window %q–%q", start, end))
			}
		} else if end != "" {
			return nil, row.err(fmt.Errorf("a closed day has no end"))
		}
		h := r.hours[code]
		if h == nil {
			h = &[7]Window{}
			if !countries[code] {
				c := r.hours[loc.Regions[code].Country]
				if c == nil {
					return nil, row.err(fmt.Errorf("country %s has no hours of its own", loc.Regions[code].Country))
				}
				*h = *c
			}
			r.hours[code] = h
		}
		for _, d := range wd {
			h[d] = w
		}
	}
	for c := range countries {
		if r.hours[c] == nil {
			return nil, fmt.Errorf("hours.csv: country %s has no hours", c)
		}
	}
	rows, err = readCSV(read, "holidays.csv", []string{"region", "holiday", "rule", "shift", "from", "to", "confidence", "source"})
	if err != nil {
		return nil, err
	}
	for _, row := range rows {
		code, name, rule, shift, from, to, conf, src := row.f[0], row.f[1], row.f[2], row.f[3], row.f[4], row.f[5], row.f[6], row.f[7]
		if err := region(code, false); err != nil {
			return nil, row.err(err)
		}
		if err := checkRow(conf, src); err != nil {
			return nil, row.err(err)
		}
		h, even, err := parseRule(name, rule)
		if err != nil {
			return nil, row.err(err)
		}
		if h.StartYear, err = optYear(from); err == nil {
			h.EndYear, err = optYear(to)
		}
		if err != nil {
			return nil, row.err(err)
		}
		alt, err := parseShift(shift)
		if err != nil {
			return nil, row.err(err)
		}
		h.Observed = alt
		r.holidays[code] = append(r.holidays[code], holiday{h: h, shift: alt, even: even})
	}
	rows, err = readCSV(read, "caps.csv", []string{"region", "calls", "hours", "confidence", "source"})
	if err != nil {
		return nil, err
	}
	for _, row := range rows {
		code := row.f[0]
		if err := region(code, false); err != nil {
			return nil, row.err(err)
		}
		if err := checkRow(row.f[3], row.f[4]); err != nil {
			return nil, row.err(err)
		}
		calls, err1 := strconv.Atoi(row.f[1])
		hours, err2 := strconv.Atoi(row.f[2])
		if err1 != nil || err2 != nil || calls < 1 || hours < 1 {
			return nil, row.err(fmt.Errorf("bad cap %s per %s hours", row.f[1], row.f[2]))
		}
		if _, dup := r.caps[code]; dup {
			return nil, row.err(fmt.Errorf("a second cap for %s", code))
		}
		r.caps[code] = Cap{Calls: calls, Per: time.Duration(hours) * time.Hour}
	}
	return r, nil
}

func checkRow(confidence, source string) error {
	if confidence != "statute" && confidence != "secondary" {
		return fmt.Errorf("confidence %q: want statute or secondary", confidence)
	}
	if strings.TrimSpace(source) == "" {
		return fmt.Errorf("a row needs its source")
	}
	return nil
}

type csvRow struct {
	file string
	line int
	f    []string
}

func (r csvRow) err(e error) error {
	return fmt.Errorf("compliance: %s line %d: %w", r.file, r.line, e)
}

// readCSV reads a data file: '#' comments, a header that must be want,
// then rows of as many fields.
func readCSV(read func(string) ([]byte, error), name string, want []string) ([]csvRow, error) {
	b, err := read(name)
	if err != nil {
		return nil, fmt.Errorf("compliance: %s: %w", name, err)
	}
	cr := csv.NewReader(bytes.NewReader(b))
	cr.Comment = '#'
	cr.FieldsPerRecord = len(want)
	head, err := cr.Read()
	if err != nil || strings.Join(head, ",") != strings.Join(want, ",") {
		return nil, fmt.Errorf("compliance: %s: header %q, want %q (%v)", name, head, want, err)
	}
	var rows []csvRow
	for {
		f, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("compliance: %s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		rows = append(rows, csvRow{file: name, line: line, f: f})
	}
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// parseDays reads "mon-fri", "sat", "sat-sun", "mon-sun".
func parseDays(s string) ([]time.Weekday, error) {
	from, to, isRange := strings.Cut(s, "-")
	a, ok1 := weekdays[from]
	b, ok2 := weekdays[to]
	if !isRange {
		b, ok2 = a, ok1
	}
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("days %q: want a weekday or a range like mon-fri", s)
	}
	var out []time.Weekday
	for d := a; ; d = (d + 1) % 7 {
		out = append(out, d)
		if d == b {
			return out, nil
		}
	}
}

func optYear(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	y, err := strconv.Atoi(s)
	if err != nil || y < 1900 || y > 2200 {
		return 0, fmt.Errorf("year %q", s)
	}
	return y, nil
}

// parseRule reads a holiday's rule into a cal.Holiday.
func parseRule(name, rule string) (*cal.Holiday, bool, error) {
	f := strings.Fields(rule)
	bad := fmt.Errorf("rule %q: want fixed MM-DD, nth MM WEEKDAY N, easter OFFSET, election or election-even", rule)
	h := &cal.Holiday{Name: name, Type: cal.ObservancePublic}
	switch {
	case len(f) == 2 && f[0] == "fixed":
		t, err := time.Parse("01-02", f[1])
		if err != nil {
			return nil, false, bad
		}
		h.Month, h.Day, h.Func = t.Month(), t.Day(), cal.CalcDayOfMonth
	case len(f) == 4 && f[0] == "nth":
		m, err1 := strconv.Atoi(f[1])
		wd, ok := weekdays[f[2]]
		n, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil || !ok || m < 1 || m > 12 || n == 0 || n < -5 || n > 5 {
			return nil, false, bad
		}
		h.Month, h.Weekday, h.Offset, h.Func = time.Month(m), wd, n, cal.CalcWeekdayOffset
	case len(f) == 2 && f[0] == "easter":
		off, err := strconv.Atoi(f[1])
		if err != nil || off < -100 || off > 100 {
			return nil, false, bad
		}
		h.Offset, h.Func = off, cal.CalcEasterOffset
	case len(f) == 1 && (f[0] == "election" || f[0] == "election-even"):
		// The Tuesday after the first Monday of November.
		h.Month, h.Weekday, h.Offset, h.CalcOffset, h.Func = time.November, time.Monday, 1, 1, cal.CalcWeekdayOffset
		return h, f[0] == "election-even", nil
	default:
		return nil, false, bad
	}
	return h, false, nil
}

// parseShift reads "sat-fri,sun-mon", "sat-mon,sun-mon" or "-".
func parseShift(s string) ([]cal.AltDay, error) {
	if s == "-" || s == "" {
		return nil, nil
	}
	var out []cal.AltDay
	for _, part := range strings.Split(s, ",") {
		from, to, ok := strings.Cut(strings.TrimSpace(part), "-")
		a, ok1 := weekdays[from]
		b, ok2 := weekdays[to]
		if !ok || !ok1 || !ok2 || a == b {
			return nil, fmt.Errorf("shift %q: want e.g. sat-fri,sun-mon", s)
		}
		off := int(b) - int(a)
		// The nearest: Saturday to Friday is −1, Sunday to Monday +1,
		// Saturday to Monday +2.
		if off > 3 {
			off -= 7
		} else if off < -3 {
			off += 7
		}
		out = append(out, cal.AltDay{Day: a, Offset: off})
	}
	return out, nil
}
