package workload

// Shrink looks for a shorter sequence that still fails: it cuts the
// failing prefix (the ops after the failing one never ran), then drops
// chunks of halving size, keeping every cut after which fails still
// reports a failure (delta debugging, ddmin's complement step). It runs
// fails at most budget times and returns the shortest failing sequence
// it found and the runs it used.
func Shrink(ops []Op, failStep int, fails func([]Op) (step int, failed bool), budget int) ([]Op, int) {
	cur := ops
	if failStep > 0 && failStep < len(ops) {
		cur = ops[:failStep]
	}
	runs := 0
	try := func(cand []Op) bool {
		if runs >= budget || len(cand) == 0 {
			return false
		}
		runs++
		step, failed := fails(cand)
		if !failed {
			return false
		}
		if step > 0 && step < len(cand) {
			cand = cand[:step]
		}
		cur = cand
		return true
	}
	for chunk := len(cur) / 2; chunk >= 1 && runs < budget; {
		cut := false
		for start := 0; start < len(cur) && runs < budget; {
			end := min(start+chunk, len(cur))
			cand := append(append([]Op(nil), cur[:start]...), cur[end:]...)
			if try(cand) {
				cut = true
				continue // same start, the next chunk moved in
			}
			start += chunk
		}
		if !cut {
			chunk /= 2
		} else {
			chunk = min(chunk, len(cur)/2)
		}
	}
	return cur, runs
}
