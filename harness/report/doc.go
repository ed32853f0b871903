// Package report records the outcome of harness runs and renders it for
// CI and humans: JUnit XML, a stable JSON summary (summary.json), a short
// text table, and a base-versus-patched matrix in Markdown and JSON.
//
// All renderings classify a scenario the same way: a skip is skipped; a
// pass or fail that matches its declared expectation is passed (so an
// expected failure on the base kernel counts as passed); a pass or fail
// that does not match is failed; an error is failed (a JUnit <error>).
// An infrastructure error and kernel reports (WARN/BUG/lockdep splats)
// each add one failed pseudo test case, "infrastructure" and
// "kernel-reports", so the JUnit totals and the table summary agree.
package report
