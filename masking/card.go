package masking

// Credit card numbers: 13 to 19 digits, optionally grouped with single spaces,
// dashes or dots (mixed too), passing the Luhn check, not glued to letters or
// digits on either side. Two groups joined by a single dot are a decimal
// number, not a card. A run of digit groups longer than a card (a card
// followed by an expiry, say) is searched for the longest valid card from the
// earliest group; zeros padding a card to a longer run are left out of it.

const maxCardGroups = 24

type digitGroup struct{ start, end int }

func findCards(s string, dst [][2]int) [][2]int {
	var groups [maxCardGroups]digitGroup
	i := 0
	for i < len(s) {
		if !isDigit(s[i]) {
			i++
			continue
		}
		n := 0
		j := i
		for {
			gs := j
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			groups[n] = digitGroup{gs, j}
			n++
			if n < maxCardGroups && j+1 < len(s) && cardSep(s[j]) && isDigit(s[j+1]) {
				j++
				continue
			}
			break
		}
		dst = cardsInRun(s, groups[:n], dst)
		i = j
	}
	return dst
}

// cardsInRun finds cards made of consecutive groups of one run.
func cardsInRun(s string, g []digitGroup, dst [][2]int) [][2]int {
	total := 0
	for _, x := range g {
		total += x.end - x.start
	}
	if total < 13 {
		return dst
	}
	for a := 0; a < len(g); a++ {
		if a == 0 && g[0].start > 0 && isAlnum(s[g[0].start-1]) {
			continue
		}
		// Leading zeros of the first group may pad a card beyond 19 digits
		// (a fixed-width field): they are left out when the run needs it.
		lz := 0
		for k := g[a].start; k < g[a].end && s[k] == '0'; k++ {
			lz++
		}
		if lz == g[a].end-g[a].start {
			lz = 0 // a group of zeros alone: the next group starts the card
		}
		found, foundStart := -1, 0
		digits := 0
		for b := a; b < len(g); b++ {
			digits += g[b].end - g[b].start
			start, n := g[a].start, digits
			if n > 19 {
				start, n = start+lz, n-lz
			}
			if n > 19 {
				break
			}
			if n < 13 {
				continue
			}
			if b == len(g)-1 && g[b].end < len(s) && isAlpha(s[g[b].end]) {
				continue
			}
			if b == a+1 && s[g[a].end] == '.' {
				continue // a decimal number
			}
			if luhn(s[start:g[b].end]) {
				found, foundStart = b, start // keep looking for a longer one
			}
		}
		if found >= 0 {
			dst = append(dst, [2]int{foundStart, g[found].end})
			a = found
		}
	}
	return dst
}

func cardSep(c byte) bool { return c == ' ' || c == '-' || c == '.' }

// luhn checks the Luhn sum of the digits of s, ignoring other bytes.
func luhn(s string) bool {
	sum, double := 0, false
	for i := len(s) - 1; i >= 0; i-- {
		c := s[i]
		if !isDigit(c) {
			continue
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// US social security numbers: AAA-GG-SSSS (dashes or spaces, the same both
// times), with the ranges the SSA never issues rejected: area 000, 666 and
// 900-999, group 00, serial 0000.
func findSSNs(s string, dst [][2]int) [][2]int {
	for i := 0; i+11 <= len(s); i++ {
		if !isDigit(s[i]) {
			continue
		}
		if i > 0 && (isAlnum(s[i-1]) || (i > 1 && (s[i-1] == '-' || s[i-1] == ' ') && isDigit(s[i-2]) && s[i-1] == s[i+3])) {
			continue
		}
		if !ssnAt(s, i) {
			continue
		}
		end := i + 11
		if end < len(s) && (isAlnum(s[end]) || (end+1 < len(s) && s[end] == s[i+3] && isDigit(s[end+1]))) {
			continue
		}
		dst = append(dst, [2]int{i, end})
		i = end - 1
	}
	return dst
}

func ssnAt(s string, i int) bool {
	sep := s[i+3]
	if sep != '-' && sep != ' ' || s[i+6] != sep {
		return false
	}
	for _, k := range [...]int{0, 1, 2, 4, 5, 7, 8, 9, 10} {
		if !isDigit(s[i+k]) {
			return false
		}
	}
	area := s[i : i+3]
	if area == "000" || area == "666" || area[0] == '9' {
		return false
	}
	return s[i+4:i+6] != "00" && s[i+7:i+11] != "0000"
}
