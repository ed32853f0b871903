package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
)

// FioRun is one fio job's throughput in one run of harness/bench-fio.
type FioRun struct {
	FS, Job string
	Run     int
	MiBps   float64
}

const kindFio = "fio"

// Line formats r as the guest logs it.
func (r FioRun) Line() string {
	return kvLine(kindFio, "fs", r.FS, "job", r.Job, "run", fmt.Sprint(r.Run), "mib_s", num(r.MiBps))
}

// ParseFioLine reads a line written by FioRun.Line; ok is false for any
// other line.
func ParseFioLine(line string) (r FioRun, ok bool, err error) {
	f, ok := parseKV(line, kindFio)
	if !ok {
		return r, false, nil
	}
	r = FioRun{FS: f.str("fs"), Job: f.str("job"), Run: int(f.num("run")), MiBps: f.num("mib_s")}
	if err := f.err(); err != nil {
		return FioRun{}, true, err
	}
	return r, true, nil
}

// ParseFioJSON reads fio's --output-format=json and returns each job's
// throughput in MiB/s: what it wrote, or else what it read.
func ParseFioJSON(out []byte) (map[string]float64, error) {
	var doc struct {
		Jobs []struct {
			Name  string `json:"jobname"`
			Error int    `json:"error"`
			Read  struct {
				BwBytes float64 `json:"bw_bytes"`
			} `json:"read"`
			Write struct {
				BwBytes float64 `json:"bw_bytes"`
			} `json:"write"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return nil, fmt.Errorf("fio json: %w", err)
	}
	if len(doc.Jobs) == 0 {
		return nil, errors.New("fio json: no jobs")
	}
	bw := map[string]float64{}
	for _, j := range doc.Jobs {
		if j.Error != 0 {
			return nil, fmt.Errorf("fio json: job %s: error %d", j.Name, j.Error)
		}
		b := j.Write.BwBytes
		if b == 0 {
			b = j.Read.BwBytes
		}
		if b <= 0 {
			return nil, fmt.Errorf("fio json: job %s moved no data", j.Name)
		}
		bw[j.Name] = b / (1 << 20)
	}
	return bw, nil
}

// Fio is results/bench.json's fio figure for one file system and job on
// one kernel: the median and range over the runs, and the ratio of the
// median to ext4's for the same job.
type Fio struct {
	Base     string  `json:"base"`
	Flavour  string  `json:"flavour"`
	FS       string  `json:"fs"`
	Job      string  `json:"job"`
	Runs     int     `json:"runs"`
	MiBps    float64 `json:"mib_per_s"`
	MinMiBps float64 `json:"min_mib_per_s"`
	MaxMiBps float64 `json:"max_mib_per_s"`
	ToExt4   float64 `json:"ratio_to_ext4"`
}

// FioFromRuns aggregates one kernel's fio runs per file system and job.
func FioFromRuns(base, flavour string, rs []FioRun) ([]Fio, error) {
	type key struct{ fs, job string }
	by := map[key][]float64{}
	for _, r := range rs {
		k := key{r.FS, r.Job}
		by[k] = append(by[k], r.MiBps)
	}
	keys := make([]key, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].job != keys[j].job {
			return keys[i].job < keys[j].job
		}
		return keys[i].fs < keys[j].fs
	})
	var out []Fio
	for _, k := range keys {
		vs := by[k]
		ext4 := Median(by[key{"ext4", k.job}])
		if ext4 <= 0 {
			return nil, fmt.Errorf("bench: no ext4 figure for fio job %s", k.job)
		}
		med := Median(vs)
		out = append(out, Fio{
			Base: base, Flavour: flavour, FS: k.fs, Job: k.job, Runs: len(vs),
			MiBps: med, MinMiBps: slices.Min(vs), MaxMiBps: slices.Max(vs), ToExt4: med / ext4,
		})
	}
	return out, nil
}
