// Package ktap writes and parses KTAP version 1, the Kernel Test Anything
// Protocol described in the kernel's Documentation/dev-tools/ktap.rst.
//
// The guest agent uses a [Writer] to report scenario results over a serial
// channel; the host uses [Parse] (whole input) or a [Parser] (line by line)
// to read them back. Parsing is deliberately tolerant: kernel console noise
// may be interleaved with KTAP lines and the guest may die mid-run, so
// unknown lines are ignored and truncated output yields a [Report] with
// Complete == false that lists the missing test numbers.
//
// Conventions shared by the writer and the parser:
//
//   - Diagnostic lines ("# ...") belong to the next result line at the same
//     nesting level; a result's multi-line detail is written before it.
//   - Every result is preceded by a "# duration_ms: N" diagnostic, which the
//     parser turns into [Result].Duration instead of a diagnostic.
//   - Subtests are a nested KTAP document indented two spaces per level,
//     written before the parent's result line. The parser accepts any
//     deeper indentation (KUnit uses four spaces).
//   - '#' and '\' in test names are escaped as `\#` and `\\`.
//   - Directives follow kselftest: "ok N name # XFAIL reason" for a test
//     that failed as expected, "ok N name # XPASS reason" for one that
//     passed although expected to fail, "not ok N name # TIMEOUT reason"
//     for one a timeout ended. The document may close with kselftest's
//     "# Totals: pass:N fail:N xfail:N xpass:N skip:N error:N" line
//     ([Writer.Totals], [Report].Totals, [Count]).
package ktap
