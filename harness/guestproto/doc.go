// Package guestproto is the contract between the host (harness/testrun,
// harness/vm) and the guest agent (harness/guest): everything one side
// writes and the other reads, in one place, so that no string is
// spelled twice.
//
// The contract, in the order a boot uses it (qemu/README.md tells the
// same story in prose):
//
//   - The host appends [Cmdline] words to the kernel command line: the
//     path of the plan file, and for the accelerator proof boot only
//     the probe flag.
//   - The host appends a small cpio holding the [Plan] at [PlanPath] to
//     the cached agent initramfs; the kernel unpacks both. The plan
//     names the block devices the host attached ([Disk]) and where it
//     put the kernel selftests: the guest knows no device order.
//   - The agent writes KTAP to the agent serial port the plan names. It
//     announces each scenario with the diagnostic [StartDiag] before
//     running it, and reports a scenario that needed several tries with
//     [AttemptsDiag]. A result the plan declares to fail carries the
//     actual failure in a [FailureDiag] line.
//   - Before each scenario the agent writes [KmsgStart] to /dev/kmsg,
//     so the host's console scanner can attribute a kernel report to
//     the scenario that was running; [KmsgEnd] follows it.
//   - The agent ends the VM by writing its [Verdict] to the exit port;
//     QEMU's isa-debug-exit turns that into its own exit status
//     ([EncodeExit], [DecodeExit]).
//
// The package imports only the standard library and package verdict (a
// leaf), so both the static guest binary and every host package can use
// it.
package guestproto
