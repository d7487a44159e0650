package dialerd

import "sort"

// Locale is a region set a campaign dials into: its states and provinces.
// The calling rules that apply per region are data loaded by the rules
// engine; this type only names the regions so settings can be validated.
type Locale struct {
	Name    string
	Regions map[string]Region
}

// Region is a state, province or territory of a locale.
type Region struct {
	Code    string // two-letter postal code
	Name    string
	Country string // ISO 3166-1 alpha-2
}

// Locales are the locales a campaign may name in locale_name.
var Locales = map[string]*Locale{
	"USCA": newLocale("USCA", usRegions, caRegions),
}

// LocaleNames returns the known locale names, sorted.
func LocaleNames() []string {
	names := make([]string, 0, len(Locales))
	for n := range Locales {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func newLocale(name string, sets ...[]Region) *Locale {
	l := &Locale{Name: name, Regions: map[string]Region{}}
	for _, set := range sets {
		for _, r := range set {
			l.Regions[r.Code] = r
		}
	}
	return l
}

var usRegions = regions("US", map[string]string{
	"AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
	"CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
	"FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
	"IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
	"ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
	"MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
	"NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
	"NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon",
	"PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
	"TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia",
	"WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
	"PR": "Puerto Rico", "VI": "U.S. Virgin Islands", "GU": "Guam", "AS": "American Samoa",
	"MP": "Northern Mariana Islands",
})

var caRegions = regions("CA", map[string]string{
	"AB": "Alberta", "BC": "British Columbia", "MB": "Manitoba", "NB": "New Brunswick",
	"NL": "Newfoundland and Labrador", "NS": "Nova Scotia", "NT": "Northwest Territories",
	"NU": "Nunavut", "ON": "Ontario", "PE": "Prince Edward Island", "QC": "Quebec",
	"SK": "Saskatchewan", "YT": "Yukon",
})

func regions(country string, m map[string]string) []Region {
	out := make([]Region, 0, len(m))
	for code, name := range m {
		out = append(out, Region{Code: code, Name: name, Country: country})
	}
	return out
}
