package phone

import (
	"slices"
	"sync"
	"time"
)

// regionZones are the IANA zones of each state, province and territory of
// the USCA locale: the zones whose area covers some of it.
//
// Source: IANA tzdata 2025b zone.tab, whose comment column names the areas a
// zone covers ("Mountain - ID (south), OR (east)", "Central - MI (Wisconsin
// border)", "Mountain - AB, BC(E), NT(E), SK(W)", ...); a zone commented
// "(most areas)" or with no area list (America/New_York "Eastern (most
// areas)", America/Chicago "Central (most areas)", America/Denver "Mountain
// (most areas)", America/Los_Angeles "Pacific") is listed for every state
// that has such areas. Where the tzdata "northamerica" file documents an area
// that keeps a neighbour's time without a zone of its own, the neighbour's
// zone is listed and the line says why. Territories have one zone each
// (zone.tab's PR, VI, GU, AS and MP lines).
//
// Decisions:
//   - AZ includes America/Denver: the Navajo Nation observes daylight saving
//     time (zone.tab: America/Phoenix is "MST - AZ (except Navajo)"; the
//     backward link Navajo → America/Denver).
//   - IN lists the America/Indiana/* zones and America/Chicago (the
//     north-west and south-west counties on Central time).
//   - MI lists America/Detroit and America/Menominee only; the library
//     answers America/New_York and America/Chicago for 906 numbers, which
//     keep the same rules today.
//
// The table is data: a test loads every zone with time.LoadLocation and
// checks that it covers exactly the regions of the locale.
var regionZones = map[string][]string{
	// United States.
	"AL": {"America/Chicago"},
	"AK": {"America/Adak", "America/Anchorage", "America/Juneau", "America/Metlakatla", "America/Nome", "America/Sitka", "America/Yakutat"},
	"AZ": {"America/Denver", "America/Phoenix"},
	"AR": {"America/Chicago"},
	"CA": {"America/Los_Angeles"},
	"CO": {"America/Denver"},
	"CT": {"America/New_York"},
	"DE": {"America/New_York"},
	"DC": {"America/New_York"},
	"FL": {"America/Chicago", "America/New_York"}, // the western panhandle is Central
	"GA": {"America/New_York"},
	"HI": {"Pacific/Honolulu"},
	"ID": {"America/Boise", "America/Los_Angeles"}, // the north is Pacific
	"IL": {"America/Chicago"},
	"IN": {"America/Chicago", "America/Indiana/Indianapolis", "America/Indiana/Knox", "America/Indiana/Marengo", "America/Indiana/Petersburg", "America/Indiana/Tell_City", "America/Indiana/Vevay", "America/Indiana/Vincennes", "America/Indiana/Winamac"},
	"IA": {"America/Chicago"},
	"KS": {"America/Chicago", "America/Denver"}, // four western counties are Mountain
	"KY": {"America/Chicago", "America/Kentucky/Louisville", "America/Kentucky/Monticello", "America/New_York"},
	"LA": {"America/Chicago"},
	"ME": {"America/New_York"},
	"MD": {"America/New_York"},
	"MA": {"America/New_York"},
	"MI": {"America/Detroit", "America/Menominee"},
	"MN": {"America/Chicago"},
	"MS": {"America/Chicago"},
	"MO": {"America/Chicago"},
	"MT": {"America/Denver"},
	"NE": {"America/Chicago", "America/Denver"},     // the west is Mountain
	"NV": {"America/Denver", "America/Los_Angeles"}, // West Wendover, Jackpot and Owyhee keep Mountain time (tzdata northamerica)
	"NH": {"America/New_York"},
	"NJ": {"America/New_York"},
	"NM": {"America/Denver"},
	"NY": {"America/New_York"},
	"NC": {"America/New_York"},
	"ND": {"America/Chicago", "America/Denver", "America/North_Dakota/Beulah", "America/North_Dakota/Center", "America/North_Dakota/New_Salem"}, // the south-west is Mountain
	"OH": {"America/New_York"},
	"OK": {"America/Chicago"},
	"OR": {"America/Boise", "America/Los_Angeles"},
	"PA": {"America/New_York"},
	"RI": {"America/New_York"},
	"SC": {"America/New_York"},
	"SD": {"America/Chicago", "America/Denver"},   // the west is Mountain
	"TN": {"America/Chicago", "America/New_York"}, // East Tennessee is Eastern
	"TX": {"America/Chicago", "America/Denver"},   // El Paso and Hudspeth are Mountain
	"UT": {"America/Denver"},
	"VT": {"America/New_York"},
	"VA": {"America/New_York"},
	"WA": {"America/Los_Angeles"},
	"WV": {"America/New_York"},
	"WI": {"America/Chicago"},
	"WY": {"America/Denver"},

	// US territories.
	"PR": {"America/Puerto_Rico"},
	"VI": {"America/St_Thomas"},
	"GU": {"Pacific/Guam"},
	"AS": {"Pacific/Pago_Pago"},
	"MP": {"Pacific/Saipan"},

	// Canada.
	"AB": {"America/Edmonton"},
	"BC": {"America/Creston", "America/Dawson_Creek", "America/Edmonton", "America/Fort_Nelson", "America/Vancouver"},
	"MB": {"America/Winnipeg"},
	"NB": {"America/Moncton"},
	"NL": {"America/Goose_Bay", "America/St_Johns"},
	"NS": {"America/Glace_Bay", "America/Halifax"},
	"NT": {"America/Edmonton", "America/Inuvik"},
	"NU": {"America/Atikokan", "America/Cambridge_Bay", "America/Iqaluit", "America/Rankin_Inlet", "America/Resolute"},
	"ON": {"America/Atikokan", "America/Toronto", "America/Winnipeg"},
	"PE": {"America/Halifax"},
	"QC": {"America/Blanc-Sablon", "America/Halifax", "America/Toronto"},  // Îles-de-la-Madeleine keep Atlantic time (tzdata northamerica; the library's 418 data agrees)
	"SK": {"America/Edmonton", "America/Regina", "America/Swift_Current"}, // Lloydminster keeps Alberta's time
	"YT": {"America/Dawson", "America/Whitehorse"},
}

// zoneAliases maps the names of tzdata's "backward" file that stand for a
// zone of the locale (US/Eastern, Canada/Pacific, America/Montreal, ...) to
// that zone. Spreadsheets and CRMs still export them.
var zoneAliases = map[string]string{
	"US/Alaska":            "America/Anchorage",
	"US/Aleutian":          "America/Adak",
	"US/Arizona":           "America/Phoenix",
	"US/Central":           "America/Chicago",
	"US/East-Indiana":      "America/Indiana/Indianapolis",
	"US/Eastern":           "America/New_York",
	"US/Hawaii":            "Pacific/Honolulu",
	"US/Indiana-Starke":    "America/Indiana/Knox",
	"US/Michigan":          "America/Detroit",
	"US/Mountain":          "America/Denver",
	"US/Pacific":           "America/Los_Angeles",
	"US/Samoa":             "Pacific/Pago_Pago",
	"Canada/Atlantic":      "America/Halifax",
	"Canada/Central":       "America/Winnipeg",
	"Canada/Eastern":       "America/Toronto",
	"Canada/Mountain":      "America/Edmonton",
	"Canada/Newfoundland":  "America/St_Johns",
	"Canada/Pacific":       "America/Vancouver",
	"Canada/Saskatchewan":  "America/Regina",
	"Canada/Yukon":         "America/Whitehorse",
	"Navajo":               "America/Denver",
	"America/Atka":         "America/Adak",
	"America/Fort_Wayne":   "America/Indiana/Indianapolis",
	"America/Indianapolis": "America/Indiana/Indianapolis",
	"America/Knox_IN":      "America/Indiana/Knox",
	"America/Louisville":   "America/Kentucky/Louisville",
	"America/Montreal":     "America/Toronto",
	"America/Nipigon":      "America/Toronto",
	"America/Pangnirtung":  "America/Iqaluit",
	"America/Rainy_River":  "America/Winnipeg",
	"America/Shiprock":     "America/Denver",
	"America/Thunder_Bay":  "America/Toronto",
	"America/Virgin":       "America/St_Thomas",
	"America/Yellowknife":  "America/Edmonton",
	"Pacific/Samoa":        "Pacific/Pago_Pago",
}

// ZonesForRegion returns the IANA zones of a state, province or territory
// code of the USCA locale ("TX" → America/Chicago, America/Denver), sorted,
// or nil for an unknown code. It is for a prospect whose row gives a state but
// no time zone. The slice is shared: do not modify it.
func ZonesForRegion(code string) []string {
	return regionZones[code]
}

// localeZones are the zones of every region of the USCA locale, sorted.
var localeZones = sync.OnceValue(func() []string {
	var all []string
	for _, zs := range regionZones {
		all = append(all, zs...)
	}
	slices.Sort(all)
	return slices.Clip(slices.Compact(all))
})

// loadableZones are the zone names ValidZone accepts: the locale's zones and
// their aliases, each kept only if time.LoadLocation finds it on this system.
var loadableZones = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	for _, z := range localeZones() {
		if _, err := time.LoadLocation(z); err == nil {
			m[z] = z
		}
	}
	for alias, z := range zoneAliases {
		if _, ok := m[z]; !ok {
			continue
		}
		if _, err := time.LoadLocation(alias); err == nil {
			m[alias] = z
		}
	}
	return m
})

// ValidZone reports whether name is an IANA zone that time.LoadLocation
// knows and that the USCA locale uses: one of the zones of ZonesForRegion,
// or a tzdata alias of one (US/Eastern, Canada/Pacific, America/Montreal).
// It is for a prospect's explicit time zone column. Names are case-sensitive,
// as IANA names are.
func ValidZone(name string) bool {
	_, ok := loadableZones()[name]
	return ok
}

// CanonicalZone returns the zone of the locale that name stands for: name
// itself for a zone of the locale, the zone an alias links to for an alias
// ("US/Eastern" → "America/New_York"); ok is false when ValidZone(name) is
// false. Store the canonical name so equal zones compare equal.
func CanonicalZone(name string) (zone string, ok bool) {
	zone, ok = loadableZones()[name]
	return zone, ok
}
