package review

import (
	"fmt"
	"html"
	"strings"
	"time"
)

// Chart geometry, in SVG user units.
const (
	chartWidth  = 640
	chartLabelW = 230
	chartCountW = 90
	chartRowH   = 20
	chartTop    = 34
	chartBottom = 26
)

// Chart draws one grant's entries as a timeline over the usage window: a
// bar from first to last use per entry (grey when all of it is older than
// the role's unused_after), its count on the right, "unused" in red for
// entries that would be removed. The output is deterministic
// (no clock, no randomness, fixed number formatting) and needs no library.
func Chart(g GrantReview, since, until, windowStart time.Time) []byte {
	rows := len(g.Entries)
	if rows == 0 {
		rows = 1
	}
	h := chartTop + rows*chartRowH + chartBottom
	plotX, plotW := float64(chartLabelW), float64(chartWidth-chartLabelW-chartCountW)
	span := until.Sub(since).Seconds()
	x := func(t time.Time) float64 {
		if span <= 0 {
			return plotX
		}
		f := t.Sub(since).Seconds() / span
		f = max(0, min(1, f))
		return plotX + f*plotW
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", chartWidth, h, chartWidth, h)
	fmt.Fprintf(&b, `<title>%s</title>`+"\n", esc(fmt.Sprintf("Use of %s %q, %s to %s", g.Kind, g.Connection, since.Format(time.DateOnly), until.Format(time.DateOnly))))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", chartWidth, h)
	fmt.Fprintf(&b, `<text x="4" y="16" font-weight="bold">%s</text>`+"\n", esc(fmt.Sprintf("%s %q: %d uses", g.Kind, g.Connection, g.Count)))
	bottom := chartTop + rows*chartRowH
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#999999"/>`+"\n", plotX, bottom, plotX+plotW, bottom)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#555555">%s</text>`+"\n", plotX, bottom+16, since.Format(time.DateOnly))
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#555555" text-anchor="end">%s</text>`+"\n", plotX+plotW, bottom+16, until.Format(time.DateOnly))
	if windowStart.After(since) {
		wx := x(windowStart)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#d97706" stroke-dasharray="4 3"/>`+"\n", wx, chartTop-6, wx, bottom)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#d97706" text-anchor="middle" font-size="10">unused_after</text>`+"\n", wx, chartTop-9)
	}
	for i, e := range g.Entries {
		y := chartTop + i*chartRowH
		label := e.Value
		if len(label) > 32 {
			label = label[:31] + "…"
		}
		fmt.Fprintf(&b, `<text x="4" y="%d">%s</text>`+"\n", y+14, esc(singularField(e.Field)+" "+label))
		if e.Count > 0 {
			x1, x2 := x(e.First), x(e.Last)
			if e.First.IsZero() {
				x1 = x2
			}
			fill := "#2b7a3d"
			if !e.Used {
				fill = "#9ca3af" // used only before the window
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", x1, y+4, max(2, x2-x1), chartRowH-8, fill)
		}
		if !e.Used {
			fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#b42318" text-anchor="end">unused</text>`+"\n", chartWidth-4, y+14)
			continue
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%d</text>`+"\n", chartWidth-4, y+14, e.Count)
	}
	if len(g.Entries) == 0 {
		fmt.Fprintf(&b, `<text x="4" y="%d" fill="#555555">no entries</text>`+"\n", chartTop+14)
	}
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

func singularField(f string) string {
	switch f {
	case "statements":
		return "statement"
	case "tables":
		return "table"
	case "commands":
		return "command"
	}
	return f
}

func esc(s string) string { return html.EscapeString(s) }
