package resultspage

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
)

// Series is one line of a line plot.
type Series struct {
	Name   string
	Class  string // CSS class: colour and dash
	Points [][2]float64
}

// linePlot draws series over a shared x and y range as an inline SVG.
// Every point is a circle of class "mark", so a browser test can count
// what was laid out.
func linePlot(id, title, xLabel, yLabel string, series []Series) template.HTML {
	const w, h, left, right, top, bottom = 520.0, 320.0, 56.0, 150.0, 28.0, 44.0
	var xmax, ymax float64
	for _, s := range series {
		for _, p := range s.Points {
			xmax, ymax = math.Max(xmax, p[0]), math.Max(ymax, p[1])
		}
	}
	xmax, ymax = niceCeil(xmax), niceCeil(ymax)
	pw, ph := w-left-right, h-top-bottom
	x := func(v float64) float64 { return left + v/xmax*pw }
	y := func(v float64) float64 { return top + ph - v/ymax*ph }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="plot" id="%s" width="%g" height="%g" viewBox="0 0 %g %g" role="img" aria-label="%s">`,
		html.EscapeString(id), w, h, w, h, html.EscapeString(title))
	fmt.Fprintf(&b, `<text x="%g" y="16" class="title">%s</text>`, left, html.EscapeString(title))
	axes(&b, left, top, pw, ph, xmax, ymax, xLabel, yLabel)
	for i, s := range series {
		var pts []string
		for _, p := range s.Points {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p[0]), y(p[1])))
		}
		fmt.Fprintf(&b, `<polyline class="line %s" points="%s"/>`, s.Class, strings.Join(pts, " "))
		for _, p := range s.Points {
			fmt.Fprintf(&b, `<circle class="mark %s" cx="%.1f" cy="%.1f" r="3"><title>%s: %g, %.2f</title></circle>`,
				s.Class, x(p[0]), y(p[1]), html.EscapeString(s.Name), p[0], p[1])
		}
		ly := top + 14*float64(i)
		fmt.Fprintf(&b, `<line class="line %s" x1="%g" y1="%g" x2="%g" y2="%g"/><text x="%g" y="%g" class="legend">%s</text>`,
			s.Class, w-right+8, ly, w-right+26, ly, w-right+30, ly+4, html.EscapeString(s.Name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// Bar is one labelled group of a horizontal bar chart; Values line up
// with the chart's keys.
type Bar struct {
	Label  string
	Values []float64
	// Missing marks values with no measurement (drawn as nothing).
	Missing []bool
}

// barChart draws one group of horizontal bars per label, one bar per
// key, as an inline SVG; every bar is a rect of class "mark".
func barChart(id, title, unit string, keys []string, bars []Bar) template.HTML {
	const w, left, right, top, rowH = 760.0, 300.0, 70.0, 44.0, 16.0
	h := top + rowH*float64(len(bars)) + 40
	var vmax float64
	for _, g := range bars {
		for _, v := range g.Values {
			vmax = math.Max(vmax, v)
		}
	}
	vmax = niceCeil(vmax)
	pw := w - left - right
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="plot" id="%s" width="%g" height="%g" viewBox="0 0 %g %g" role="img" aria-label="%s">`,
		html.EscapeString(id), w, h, w, h, html.EscapeString(title))
	fmt.Fprintf(&b, `<text x="8" y="16" class="title">%s</text>`, html.EscapeString(title))
	for i, k := range keys {
		fmt.Fprintf(&b, `<rect class="k%d" x="%g" y="24" width="10" height="10"/><text x="%g" y="33" class="legend">%s</text>`,
			i%4, left+float64(i)*160, left+float64(i)*160+14, html.EscapeString(k))
	}
	bh := (rowH - 2) / float64(max(len(keys), 1))
	for r, g := range bars {
		y0 := top + rowH*float64(r)
		fmt.Fprintf(&b, `<text x="%g" y="%g" class="label">%s</text>`, left-6, y0+rowH/2+4, html.EscapeString(g.Label))
		for i, v := range g.Values {
			if i < len(g.Missing) && g.Missing[i] {
				continue
			}
			fmt.Fprintf(&b, `<rect class="mark k%d" x="%g" y="%.1f" width="%.1f" height="%.1f"><title>%s %s: %g %s</title></rect>`,
				i%4, left, y0+1+bh*float64(i), math.Max(v/vmax*pw, 1), bh, html.EscapeString(g.Label), html.EscapeString(keys[i]), v, unit)
		}
	}
	yb := top + rowH*float64(len(bars))
	fmt.Fprintf(&b, `<line class="axis" x1="%g" y1="%g" x2="%g" y2="%g"/>`, left, yb, left+pw, yb)
	for t := 0; t <= 4; t++ {
		v := vmax * float64(t) / 4
		fmt.Fprintf(&b, `<text x="%g" y="%g" class="tick" text-anchor="middle">%g</text>`, left+pw*float64(t)/4, yb+14, v)
	}
	fmt.Fprintf(&b, `<text x="%g" y="%g" class="tick" text-anchor="middle">%s</text>`, left+pw/2, yb+30, html.EscapeString(unit))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// axes draws the frame, four ticks per axis and the axis labels.
func axes(b *strings.Builder, left, top, pw, ph, xmax, ymax float64, xLabel, yLabel string) {
	fmt.Fprintf(b, `<line class="axis" x1="%g" y1="%g" x2="%g" y2="%g"/>`, left, top+ph, left+pw, top+ph)
	fmt.Fprintf(b, `<line class="axis" x1="%g" y1="%g" x2="%g" y2="%g"/>`, left, top, left, top+ph)
	for t := 0; t <= 4; t++ {
		f := float64(t) / 4
		fmt.Fprintf(b, `<text x="%g" y="%g" class="tick" text-anchor="middle">%g</text>`, left+pw*f, top+ph+14, xmax*f)
		fmt.Fprintf(b, `<text x="%g" y="%g" class="tick" text-anchor="end">%g</text>`, left-4, top+ph-ph*f+4, ymax*f)
	}
	fmt.Fprintf(b, `<text x="%g" y="%g" class="tick" text-anchor="middle">%s</text>`, left+pw/2, top+ph+32, html.EscapeString(xLabel))
	fmt.Fprintf(b, `<text x="12" y="%g" class="tick" transform="rotate(-90 12 %g)" text-anchor="middle">%s</text>`, top+ph/2, top+ph/2, html.EscapeString(yLabel))
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten, so ticks at
// quarters stay readable; 0 becomes 1.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 4, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}
