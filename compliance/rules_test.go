package compliance

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files of banned dates")

func at(date, clock string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", date+" "+clock)
	if err != nil {
		panic(err)
	}
	return t
}

func hm(s string) int {
	t, _ := time.Parse("15:04", s)
	return t.Hour()*3600 + t.Minute()*60
}

// The legal window by region and local date: weekdays, Saturdays, Sundays,
// a banned holiday and its observed day, with and without filter_holidays.
func TestLegal(t *testing.T) {
	r := MustLoad("USCA")
	cases := []struct {
		region, date string
		holidays     bool
		open         [2]string // "" when closed
		why          string
	}{
		// 2026-03-09 Monday, 03-14 Saturday, 03-15 Sunday.
		{"NY", "2026-03-09", true, [2]string{"08:00", "21:00"}, ""},
		{"NY", "2026-03-15", true, [2]string{"08:00", "21:00"}, ""},
		{"AL", "2026-03-14", true, [2]string{"08:00", "20:00"}, ""},
		{"AL", "2026-03-15", true, [2]string{}, WhyClosed},
		{"CT", "2026-03-15", true, [2]string{"09:00", "20:00"}, ""},
		{"FL", "2026-03-09", true, [2]string{"08:00", "20:00"}, ""},
		{"LA", "2026-03-15", true, [2]string{}, WhyClosed},
		{"MS", "2026-03-14", true, [2]string{"08:00", "20:00"}, ""},
		{"MS", "2026-03-15", true, [2]string{}, WhyClosed},
		{"RI", "2026-03-09", true, [2]string{"09:00", "18:00"}, ""},
		{"RI", "2026-03-14", true, [2]string{"10:00", "17:00"}, ""},
		{"RI", "2026-03-15", true, [2]string{}, WhyClosed},
		{"TX", "2026-03-14", true, [2]string{"09:00", "21:00"}, ""},
		{"TX", "2026-03-15", true, [2]string{"12:00", "21:00"}, ""},
		{"UT", "2026-03-15", true, [2]string{}, WhyClosed},
		{"WA", "2026-03-09", true, [2]string{"08:00", "20:00"}, ""},
		{"PA", "2026-03-15", true, [2]string{"08:00", "21:00"}, ""},
		// Canada: weekdays 9:00–21:30, weekends 10:00–18:00.
		{"ON", "2026-03-09", true, [2]string{"09:00", "21:30"}, ""},
		{"QC", "2026-03-14", true, [2]string{"10:00", "18:00"}, ""},
		{"BC", "2026-03-15", true, [2]string{"10:00", "18:00"}, ""},
		// Holidays: banned with filter_holidays only.
		{"PA", "2026-04-03", true, [2]string{}, WhyHoliday},                 // Good Friday
		{"PA", "2026-04-03", false, [2]string{"08:00", "21:00"}, ""},        // … without filter_holidays
		{"LA", "2026-02-17", true, [2]string{}, WhyHoliday},                 // Mardi Gras
		{"PA", "2026-11-03", true, [2]string{}, WhyHoliday},                 // Election Day
		{"RI", "2026-11-03", true, [2]string{}, WhyHoliday},                 // Election Day, an even year
		{"RI", "2027-11-02", true, [2]string{"09:00", "18:00"}, ""},         // not in an odd year
		{"AL", "2026-07-03", true, [2]string{}, WhyHoliday},                 // July 4 is a Saturday: observed Friday
		{"AL", "2026-07-04", true, [2]string{}, WhyHoliday},                 // and the day itself
		{"RI", "2026-07-06", true, [2]string{}, WhyHoliday},                 // RI observes it Monday
		{"RI", "2026-07-03", true, [2]string{"09:00", "18:00"}, ""},         // not Friday
		{"UT", "2026-07-24", true, [2]string{}, WhyHoliday},                 // Pioneer Day
		{"UT", "2027-12-31", true, [2]string{}, WhyHoliday},                 // New Year 2028 (Saturday) observed
		{"NY", "2026-07-03", true, [2]string{"08:00", "21:00"}, ""},         // no state ban
		{"ON", "2026-07-01", true, [2]string{"09:00", "21:30"}, ""},         // Canada bans no holiday
		{"", "2026-03-09", true, [2]string{"10:00", "18:00"}, WhyUnknown},   // unknown: the strictest (KY from 10, RI to 18)
		{"", "2026-03-15", true, [2]string{}, WhyUnknown},                   // some region bans Sundays
		{"ZZ", "2026-03-10", true, [2]string{"10:00", "18:00"}, WhyUnknown}, // not a region of the locale
		{"AZ", "2026-03-08", true, [2]string{"08:00", "21:00"}, ""},         // the DST change day is a Sunday like any
	}
	for _, c := range cases {
		d := r.Legal(c.region, at(c.date, "12:00"), c.holidays)
		if c.open[0] == "" {
			if !d.Window.Closed() || d.Why != c.why {
				t.Errorf("%s %s (holidays %v): %+v, want closed (%s)", c.region, c.date, c.holidays, d, c.why)
			}
			continue
		}
		if d.Window != (Window{hm(c.open[0]), hm(c.open[1])}) || d.Why != c.why {
			t.Errorf("%s %s (holidays %v): %+v, want %s–%s %q", c.region, c.date, c.holidays, d, c.open[0], c.open[1], c.why)
		}
	}
	if c, ok := r.Cap("FL"); !ok || c.Calls != 3 || c.Per != 24*time.Hour {
		t.Errorf("FL cap %+v %v", c, ok)
	}
	if _, ok := r.Cap("NY"); ok {
		t.Error("NY has a cap")
	}
}

// The banned dates per region for 2026 and 2027, against golden files
// reviewed by hand against the sources (go test ./compliance -update
// rewrites them; review the diff).
func TestBannedDaysGolden(t *testing.T) {
	r := MustLoad("USCA")
	var regions []string
	for code := range r.holidays {
		regions = append(regions, code)
	}
	sort.Strings(regions)
	for _, year := range []int{2026, 2027} {
		var b strings.Builder
		for _, code := range regions {
			for _, d := range r.BannedDays(code, year) {
				fmt.Fprintf(&b, "%s %s %s %s\n", code, d.Date.Format("2006-01-02"), d.Date.Weekday().String()[:3], d.Holiday)
			}
		}
		path := fmt.Sprintf("testdata/banned-%d.txt", year)
		if *update {
			if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if b.String() != string(want) {
			t.Errorf("%s differs from what the rules give now:\n%s", path, b.String())
		}
	}
}

// Bad data is refused with the file and line.
func TestLoadRefusesBadData(t *testing.T) {
	good := map[string]string{
		"hours.csv":    "region,days,start,end,confidence,source\nUS,mon-sun,08:00,21:00,statute,x\nCA,mon-sun,09:00,21:30,statute,x\n",
		"holidays.csv": "region,holiday,rule,shift,from,to,confidence,source\n",
		"caps.csv":     "region,calls,hours,confidence,source\n",
	}
	loc := MustLoad("USCA").Locale
	for _, c := range []struct{ file, body, want string }{
		{"hours.csv", "region,days,start,end,confidence,source\nUS,mon-sun,08:00,21:00,statute,x\nCA,mon-sun,09:00,21:30,statute,x\nXX,mon,08:00,20:00,statute,x\n", "unknown region"},
		{"hours.csv", "region,days,start,end,confidence,source\nUS,mon-sun,21:00,08:00,statute,x\nCA,mon-sun,09:00,21:30,statute,x\n", "bad window"},
		{"hours.csv", "region,days,start,end,confidence,source\nUS,funday,08:00,21:00,statute,x\nCA,mon-sun,09:00,21:30,statute,x\n", "days"},
		{"hours.csv", "region,days,start,end,confidence,source\nUS,mon-sun,08:00,21:00,statute,\nCA,mon-sun,09:00,21:30,statute,x\n", "source"},
		{"hours.csv", "region,days,start,end,confidence,source\nUS,mon-sun,08:00,21:00,statute,x\n", "country CA has no hours"},
		{"holidays.csv", "region,holiday,rule,shift,from,to,confidence,source\nPA,X,nth 13 mon 1,-,,,statute,x\n", "rule"},
		{"holidays.csv", "region,holiday,rule,shift,from,to,confidence,source\nPA,X,fixed 07-04,sat-xyz,,,statute,x\n", "shift"},
		{"holidays.csv", "region,holiday,rule,shift,from,to,confidence,source\nPA,X,fixed 07-04,-,,,maybe,x\n", "confidence"},
		{"caps.csv", "region,calls,hours,confidence,source\nFL,0,24,statute,x\n", "bad cap"},
		{"caps.csv", "region,calls,hours\nFL,3,24\n", "header"},
	} {
		fs := fstest.MapFS{}
		for name, body := range good {
			fs[name] = &fstest.MapFile{Data: []byte(body)}
		}
		fs[c.file] = &fstest.MapFile{Data: []byte(c.body)}
		_, err := parse(loc, fs.ReadFile)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %q: err %v, want one saying %q", c.file, c.body, err, c.want)
		}
	}
}
