package phone

import (
	"fmt"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// Which exchanges does the library judge on more than six digits?
//
// The library decides validity and region of a +1 number with regular
// expressions over its 10 national digits: each NANP region's leading-digits
// pattern (a prefix match) and its number patterns (full matches; the
// possible lengths are the same for every 10-digit number). The outcome is a
// function of which of those patterns match. Most patterns are decided by the
// first six digits — "[2-9]\d{6}" after an area code — but not all: Barbados
// lists "246521[0369]\d{3}", so whether 246-521-xxxx is valid depends on the
// seventh digit. deepExchanges finds every such exchange by running each
// pattern's automaton (regexp/syntax) over digit strings: an exchange is deep
// when some pattern, after its six digits, still matches some four-digit
// endings and not others. Numbers of deep exchanges take the library's slow
// path.

const (
	nationalLen = 10 // digits of a NANP national number
	exchangeLen = 6  // area code and exchange
)

// exchangeSet is a set of exchanges (area code × 1000 + exchange, area codes
// 200-999).
type exchangeSet [800 * 1000 / 64]uint64

func (s *exchangeSet) add(ex int)              { s[(ex-200_000)/64] |= 1 << ((ex - 200_000) % 64) }
func (s *exchangeSet) has(ex int) bool         { return s[(ex-200_000)/64]&(1<<((ex-200_000)%64)) != 0 }
func exchangeOf(national uint64) int           { return int(national / 1e4) }
func (s *exchangeSet) hasNumber(n uint64) bool { return s.has(exchangeOf(n)) }

// nanpDepth is the result of the analysis: the deep exchanges, or an error
// (then every number takes the slow path).
var nanpDepth = sync.OnceValues(func() (*exchangeSet, error) {
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return nil, err
	}
	deep := new(exchangeSet)
	for _, md := range coll.Metadata {
		if md.GetCountryCode() != 1 {
			continue
		}
		var patterns []string
		if ld := md.GetLeadingDigits(); ld != "" {
			// A prefix match on a digit string: the same as a full match
			// of the pattern followed by any digits.
			patterns = append(patterns, "(?:"+ld+`)\d*`)
		}
		for _, d := range []*phonenumbers.PhoneNumberDesc{
			md.GetGeneralDesc(), md.GetPremiumRate(), md.GetTollFree(), md.GetSharedCost(),
			md.GetVoip(), md.GetPersonalNumber(), md.GetPager(), md.GetUan(),
			md.GetVoicemail(), md.GetFixedLine(), md.GetMobile(),
		} {
			if d != nil {
				patterns = append(patterns, d.GetNationalNumberPattern())
			}
		}
		for _, p := range patterns {
			a, err := newDigitAutomaton(p)
			if err != nil {
				return nil, fmt.Errorf("phone: NANP pattern of %s: %w", md.GetId(), err)
			}
			a.undecided(func(prefix int) {
				if prefix >= 200_000 {
					deep.add(prefix)
				}
			})
		}
	}
	return deep, nil
})

// digitAutomaton runs a compiled regular expression, anchored at both ends,
// over strings of nationalLen ASCII digits, with state sets as states.
type digitAutomaton struct {
	prog *syntax.Prog
	memo map[string]uint8 // position and state set → canMatch|canFail
}

const (
	canMatch uint8 = 1 << iota
	canFail
)

func newDigitAutomaton(pattern string) (*digitAutomaton, error) {
	re, err := syntax.Parse(`^(?:`+pattern+`)$`, syntax.Perl)
	if err != nil {
		return nil, err
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil, err
	}
	for _, in := range prog.Inst {
		if in.Op == syntax.InstEmptyWidth && syntax.EmptyOp(in.Arg)&^(syntax.EmptyBeginText|syntax.EmptyEndText|syntax.EmptyBeginLine|syntax.EmptyEndLine) != 0 {
			return nil, fmt.Errorf("unsupported assertion in %q", pattern)
		}
	}
	return &digitAutomaton{prog: prog, memo: map[string]uint8{}}, nil
}

// closure adds to set the instructions reachable from pc without reading a
// digit, at position pos.
func (a *digitAutomaton) closure(set []uint32, pc uint32, pos int) []uint32 {
	if slices.Contains(set, pc) {
		return set
	}
	set = append(set, pc)
	in := &a.prog.Inst[pc]
	switch in.Op {
	case syntax.InstAlt, syntax.InstAltMatch:
		set = a.closure(set, in.Out, pos)
		set = a.closure(set, in.Arg, pos)
	case syntax.InstCapture, syntax.InstNop:
		set = a.closure(set, in.Out, pos)
	case syntax.InstEmptyWidth:
		op := syntax.EmptyOp(in.Arg)
		ok := true
		if op&(syntax.EmptyBeginText|syntax.EmptyBeginLine) != 0 && pos != 0 {
			ok = false
		}
		if op&(syntax.EmptyEndText|syntax.EmptyEndLine) != 0 && pos != nationalLen {
			ok = false
		}
		if ok {
			set = a.closure(set, in.Out, pos)
		}
	}
	return set
}

// step reads digit d at position pos (0-based) and returns the next state set.
func (a *digitAutomaton) step(set []uint32, d rune, pos int) []uint32 {
	var next []uint32
	for _, pc := range set {
		in := &a.prog.Inst[pc]
		switch in.Op {
		case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
			if in.MatchRune(d) {
				next = a.closure(next, in.Out, pos+1)
			}
		}
	}
	slices.Sort(next)
	return next
}

func (a *digitAutomaton) matches(set []uint32) bool {
	return slices.ContainsFunc(set, func(pc uint32) bool { return a.prog.Inst[pc].Op == syntax.InstMatch })
}

func setKey(set []uint32, pos int) string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(pos))
	for _, pc := range set {
		b.WriteByte(',')
		b.WriteString(strconv.Itoa(int(pc)))
	}
	return b.String()
}

// outcomes says whether some and whether every digit ending of the string,
// from state set at position pos, matches.
func (a *digitAutomaton) outcomes(set []uint32, pos int) uint8 {
	if pos == nationalLen {
		if a.matches(set) {
			return canMatch
		}
		return canFail
	}
	if len(set) == 0 {
		return canFail
	}
	k := setKey(set, pos)
	if r, ok := a.memo[k]; ok {
		return r
	}
	var r uint8
	for d := '0'; d <= '9' && r != canMatch|canFail; d++ {
		r |= a.outcomes(a.step(set, d, pos), pos+1)
	}
	a.memo[k] = r
	return r
}

// undecided calls f with every exchangeLen-digit prefix after which the
// pattern matches some endings and not others.
func (a *digitAutomaton) undecided(f func(prefix int)) {
	start := slices.Sorted(slices.Values(a.closure(nil, uint32(a.prog.Start), 0)))
	var walk func(set []uint32, pos, prefix int)
	walk = func(set []uint32, pos, prefix int) {
		if a.outcomes(set, pos) != canMatch|canFail {
			return
		}
		if pos == exchangeLen {
			f(prefix)
			return
		}
		for d := '0'; d <= '9'; d++ {
			walk(a.step(set, d, pos), pos+1, prefix*10+int(d-'0'))
		}
	}
	walk(start, 0, 0)
}
