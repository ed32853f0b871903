package resultspage

import (
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"

	"dioharness/harness/bench"
	"dioharness/harness/report"
	"dioharness/harness/verdict"
)

// view is what the template reads.
type view struct {
	Bases     []baseView
	Plots     []plotView
	PlotNote  string
	Extras    []Extra
	Sources   []string
	NotMeasd  []string
	BenchFrom string
}

type baseView struct {
	Name     string
	ID       string
	Summary  string
	Columns  []report.Column
	Rows     []rowView
	Evidence []evidenceView
}

type rowView struct {
	Name, Area, Why string
	Matches         bool
	Cells           []cellView
}

type cellView struct {
	Text, Class, Title string
}

type evidenceView struct {
	Name    string
	Kernels []kernelEvidence
}

type kernelEvidence struct {
	Label, Verdict, Reason, Duration string
	Attempts                         int
	Detail                           []string
}

type plotView struct {
	Caption string
	SVG     template.HTML
}

// Write renders d as one self-contained HTML page.
func Write(w io.Writer, d Data) error {
	v := view{Extras: d.Extras, Sources: d.Sources}
	for _, b := range d.Bases {
		v.Bases = append(v.Bases, baseSection(b))
	}
	if d.Bench != nil {
		v.Extras = append(benchTables(*d.Bench), v.Extras...)
	}
	if d.Bench != nil && len(d.Bench.ParallelDIO) > 0 {
		v.Plots = benchPlots(d.Bench.ParallelDIO)
		v.BenchFrom = d.Bench.Machine
		v.NotMeasd = d.Bench.NotMeasured
	} else {
		v.PlotNote = "results/bench.json is absent, so there is no throughput-versus-writers plot yet; " +
			"the plots show what was measured instead: each scenario's duration (all attempts) on every kernel of the runs above."
		for _, b := range d.Bases {
			if p, ok := durationPlot(b); ok {
				v.Plots = append(v.Plots, p)
			}
		}
	}
	if err := page.Execute(w, v); err != nil {
		return fmt.Errorf("results page: %w", err)
	}
	return nil
}

func baseSection(b Base) baseView {
	m := b.Matrix
	bv := baseView{Name: b.Name, ID: "matrix-" + b.Name, Summary: m.Summary(), Columns: m.Columns}
	for _, r := range m.Rows {
		rv := rowView{Name: r.Name, Area: r.Area, Why: r.Why(m.Columns), Matches: r.Matches()}
		for i, c := range r.Cells {
			s, ok := scenarioOf(b.Runs, i, r.Name)
			rv.Cells = append(rv.Cells, cell(c, s, ok))
		}
		bv.Rows = append(bv.Rows, rv)
		if b.Runs == nil {
			continue
		}
		ev := evidenceView{Name: r.Name}
		for i, col := range m.Columns {
			s, ok := scenarioOf(b.Runs, i, r.Name)
			if !ok {
				continue
			}
			ev.Kernels = append(ev.Kernels, kernelEvidence{
				Label: col.Label(), Verdict: verdictText(s.Verdict, s.Directive), Reason: s.Reason,
				Duration: s.Duration.String(), Attempts: s.Attempts, Detail: s.Detail,
			})
		}
		bv.Evidence = append(bv.Evidence, ev)
	}
	return bv
}

// scenarioOf finds a scenario's first occurrence in the run of column i.
func scenarioOf(runs []report.Run, i int, name string) (report.Scenario, bool) {
	if i >= len(runs) {
		return report.Scenario{}, false
	}
	for _, s := range runs[i].Scenarios {
		if s.Name == name {
			return s, true
		}
	}
	return report.Scenario{}, false
}

func cell(c report.Cell, s report.Scenario, have bool) cellView {
	if c.Verdict == verdict.Missing {
		return cellView{Text: "missing", Class: "missing", Title: "not in this run"}
	}
	text := string(c.Verdict)
	if have {
		text = verdictText(s.Verdict, s.Directive)
	}
	cv := cellView{Text: text, Class: "bad", Title: "expected " + string(c.Expected)}
	if c.Matches {
		cv.Class = "ok"
	}
	if c.Attempts > 1 {
		cv.Title += fmt.Sprintf(", %d attempts", c.Attempts)
	}
	if have && s.Reason != "" {
		cv.Title += ": " + s.Reason
	}
	return cv
}

// verdictText qualifies a verdict with its KTAP directive as the table
// report does ("fail XFAIL").
func verdictText(v verdict.Verdict, directive string) string {
	switch directive {
	case "", "SKIP", "ERROR":
		return string(v)
	}
	return string(v) + " " + directive
}

// durationPlot is the stand-in plot while no bench.json exists: the
// scenario durations of one base's runs, one bar per kernel.
func durationPlot(b Base) (plotView, bool) {
	if len(b.Runs) == 0 {
		return plotView{}, false
	}
	var keys []string
	for _, c := range b.Matrix.Columns {
		keys = append(keys, c.Label())
	}
	var bars []Bar
	for _, r := range b.Matrix.Rows {
		g := Bar{Label: r.Name}
		for i := range b.Matrix.Columns {
			s, ok := scenarioOf(b.Runs, i, r.Name)
			g.Values = append(g.Values, s.Duration.Seconds())
			g.Missing = append(g.Missing, !ok)
		}
		bars = append(bars, g)
	}
	return plotView{
		Caption: "Scenario durations on " + b.Name + " (seconds, all attempts; under TCG)",
		SVG:     barChart("durations-"+b.Name, "Scenario duration, "+b.Name, "s", keys, bars),
	}, true
}

// benchPlots draws, per base, flavour and server latency, the speedup
// over one writer against the number of writers, with and without
// FOPEN_PARALLEL_DIRECT_WRITES, beside the ideal N x.
func benchPlots(rs []bench.ParallelDIO) []plotView {
	type key struct {
		base, flavour string
		latency       int
	}
	groups := map[key][]bench.ParallelDIO{}
	var keys []key
	for _, r := range rs {
		k := key{r.Base, r.Flavour, r.LatencyMS}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r)
	}
	var out []plotView
	for _, k := range keys {
		var on, off, cached, ideal Series
		on = Series{Name: "parallel direct writes", Class: "k0"}
		off = Series{Name: "without the flag", Class: "k1"}
		cached = Series{Name: "O_DIRECT keeping the page cache (pdio)", Class: "k2"}
		ideal = Series{Name: "ideal (N x)", Class: "ideal"}
		rows := groups[k]
		sort.Slice(rows, func(i, j int) bool { return rows[i].Writers < rows[j].Writers })
		seen := map[int]bool{}
		for _, r := range rows {
			p := [2]float64{float64(r.Writers), r.Speedup}
			switch {
			case r.Open == bench.OpenODirectCached:
				cached.Points = append(cached.Points, p)
			case r.Parallel:
				on.Points = append(on.Points, p)
			default:
				off.Points = append(off.Points, p)
			}
			if !seen[r.Writers] {
				seen[r.Writers] = true
				ideal.Points = append(ideal.Points, [2]float64{float64(r.Writers), float64(r.Writers)})
			}
		}
		title := fmt.Sprintf("%s %s, server latency %d ms", k.base, k.flavour, k.latency)
		id := strings.NewReplacer(" ", "-", ",", "", ".", "_").Replace(fmt.Sprintf("bench-%s-%s-%dms", k.base, k.flavour, k.latency))
		out = append(out, plotView{
			Caption: "Direct-write throughput over one writer, " + title,
			SVG:     linePlot(id, title, "writers", "speedup over 1 writer", nonEmpty(ideal, on, off, cached)),
		})
	}
	return out
}

// nonEmpty drops the series without points: a kernel without the pdio
// RFC's row shows none of it.
func nonEmpty(all ...Series) []Series {
	var out []Series
	for _, s := range all {
		if len(s.Points) > 0 {
			out = append(out, s)
		}
	}
	return out
}

var page = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>dioharness results</title>
<style>
body { font: 14px/1.4 sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: .5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.ok { background: #e3f4e3; }
td.bad { background: #f8d7d7; font-weight: bold; }
td.missing { background: #eee; color: #777; }
tr.mismatch td:first-child { font-weight: bold; color: #a00; }
pre { margin: .2em 0; white-space: pre-wrap; font-size: 12px; }
details { margin: .2em 0; }
svg.plot { display: block; margin: .5em 0 1.5em; }
svg .title { font-weight: bold; font-size: 13px; }
svg .tick, svg .legend { font-size: 11px; }
svg .label { font-size: 11px; text-anchor: end; }
svg .axis { stroke: #444; }
svg .line { fill: none; stroke-width: 2; }
svg .k0 { stroke: #1f77b4; fill: #1f77b4; }
svg .k1 { stroke: #d62728; fill: #d62728; }
svg .k2 { stroke: #2ca02c; fill: #2ca02c; }
svg .k2 { stroke: #2ca02c; fill: #2ca02c; }
svg .k3 { stroke: #9467bd; fill: #9467bd; }
svg .ideal { stroke: #888; fill: #888; stroke-dasharray: 4 3; }
svg polyline.line, svg line.line { fill: none; }
</style>
</head>
<body>
<h1>dioharness results</h1>
<p>Made from the JSON results: {{range $i, $s := .Sources}}{{if $i}}, {{end}}<code>{{$s}}</code>{{end}}.</p>
{{range .Bases}}{{$b := .Name}}
<h2 id="{{.ID}}-h">Base {{.Name}}</h2>
<p>{{.Summary}}</p>
<table class="kernels">
<thead><tr><th>kernel</th><th>build</th><th>source</th><th>note</th><th>infrastructure error</th><th>kernel reports</th></tr></thead>
<tbody>{{range .Columns}}<tr><td>{{.Label}}</td><td>{{.Kernel}}</td><td>{{.Source}}</td><td>{{.Note}}</td><td>{{.Infra}}</td><td>{{.KernelReports}}</td></tr>{{end}}</tbody>
</table>
<table class="matrix" id="{{.ID}}">
<thead><tr><th>scenario</th><th>area</th>{{range .Columns}}<th title="{{.Kernel}}">{{.Label}}</th>{{end}}<th>declared failure</th></tr></thead>
<tbody>{{range .Rows}}<tr{{if not .Matches}} class="mismatch"{{end}}><td><a href="#ev-{{$b}}-{{.Name}}">{{.Name}}</a></td><td>{{.Area}}</td>{{range .Cells}}<td class="{{.Class}}" title="{{.Title}}">{{.Text}}</td>{{end}}<td>{{.Why}}</td></tr>
{{end}}</tbody>
</table>
{{if .Evidence}}<h3>Evidence per scenario ({{.Name}})</h3>
<p>The KTAP diagnostics each verdict rests on: the probe events and checks the scenario reported.</p>
{{range .Evidence}}<details id="ev-{{$b}}-{{.Name}}"><summary>{{.Name}}</summary>
{{range .Kernels}}<p><b>{{.Label}}</b>: {{.Verdict}}{{if .Reason}} ({{.Reason}}){{end}}, {{.Duration}}, {{.Attempts}} attempt(s)</p>
{{if .Detail}}<pre>{{range .Detail}}{{.}}
{{end}}</pre>{{else}}<p><i>no diagnostics</i></p>{{end}}
{{end}}</details>
{{end}}{{end}}
{{end}}
<h2>Plots</h2>
{{if .PlotNote}}<p class="note">{{.PlotNote}}</p>{{end}}
{{if .BenchFrom}}<p>Measured on: {{.BenchFrom}}</p>{{end}}
{{range .Plots}}<figure>{{.SVG}}<figcaption>{{.Caption}}</figcaption></figure>
{{end}}
{{if .NotMeasd}}<h3>Not measured</h3><ul>{{range .NotMeasd}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{range .Extras}}<h2>{{.Title}}</h2>
<table class="extra"><thead><tr>{{range .Table.Head}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>{{range .Table.Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</tbody></table>
{{end}}
<script>
// Marks what the browser laid out, for the page's own test: rows of
// each matrix with a height, and marks of each plot with an extent.
(function () {
  document.querySelectorAll("table.matrix").forEach(function (t) {
    var n = 0;
    Array.prototype.forEach.call(t.tBodies[0].rows, function (r) { if (r.getBoundingClientRect().height > 0) n++; });
    t.setAttribute("data-rendered-rows", n);
  });
  document.querySelectorAll("svg.plot").forEach(function (s) {
    var n = 0;
    s.querySelectorAll(".mark").forEach(function (m) { var b = m.getBBox(); if (b.width > 0 && b.height > 0) n++; });
    s.setAttribute("data-rendered-marks", n);
  });
  document.body.setAttribute("data-rendered", "yes");
})();
</script>
</body>
</html>
`))

// benchTables are bench.json's figures other than the plotted ones.
func benchTables(b bench.Results) []Extra {
	var out []Extra
	f2 := func(v float64) string { return fmt.Sprintf("%.2f", v) }
	f0 := func(v float64) string { return fmt.Sprintf("%.0f", v) }
	if len(b.ProbeOverhead) > 0 {
		t := Table{Head: []string{"kernel", "workload", "rounds", "bare us/write", "idle us/write", "idle overhead", "recording us/write", "recording overhead", "goals"}}
		for _, p := range b.ProbeOverhead {
			goals := "met"
			if !p.Met() {
				goals = fmt.Sprintf("not met (< %.0f%% idle, < %.0f%% recording)", p.GoalIdlePct, p.GoalRecordingPct)
			}
			t.Rows = append(t.Rows, []string{p.Base + " " + p.Flavour, p.Workload, fmt.Sprint(p.Rounds), f0(p.BareUS), f0(p.IdleUS),
				fmt.Sprintf("%+.1f%%", p.IdlePct), f0(p.RecordingUS), fmt.Sprintf("%+.1f%%", p.RecordingPct), goals})
		}
		out = append(out, Extra{Title: "bench.json: probe overhead (medians)", Table: t})
	}
	if len(b.EditLoop) > 0 {
		t := Table{Head: []string{"kernel", "edit", "scenario", "runs", "total s", "build s", "boot s", "scenario s", "rest s", "goal s"}}
		for _, l := range b.EditLoop {
			t.Rows = append(t.Rows, []string{l.Base + " " + l.Flavour, "touch " + l.File, l.Scenario, fmt.Sprint(l.Runs),
				f0(l.TotalS), f0(l.BuildS), f0(l.BootS), f0(l.ScenarioS), f0(l.RestS), f0(l.GoalS)})
		}
		out = append(out, Extra{Title: "bench.json: edit -> verdict (medians)", Table: t})
	}
	if len(b.Fio) > 0 {
		t := Table{Head: []string{"kernel", "fio job", "file system", "runs", "MiB/s", "min", "max", "x ext4"}}
		for _, f := range b.Fio {
			t.Rows = append(t.Rows, []string{f.Base + " " + f.Flavour, f.Job, f.FS, fmt.Sprint(f.Runs), f2(f.MiBps), f2(f.MinMiBps), f2(f.MaxMiBps), f2(f.ToExt4)})
		}
		out = append(out, Extra{Title: "bench.json: fio, test FUSE server against ext4", Table: t})
	}
	if len(b.FusePeer) > 0 {
		t := Table{Head: []string{"server", "mode", "write MB/s", "x peer", "read MB/s", "x peer"}}
		for _, r := range b.FusePeer {
			t.Rows = append(t.Rows, []string{r.Server, r.Mode, fmt.Sprintf("%.1f", r.WriteMBps), f2(r.WriteToPeer), fmt.Sprintf("%.1f", r.ReadMBps), f2(r.ReadToPeer)})
		}
		out = append(out, Extra{Title: "bench.json: host FUSE, our server against go-fuse memfs (" + b.FusePeerSetup + ")", Table: t})
	}
	return out
}
