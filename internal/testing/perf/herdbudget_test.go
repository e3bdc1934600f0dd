package perf

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"
)

// budgetFleet is a steady fleet whose refreshes must fit the write budget.
type budgetFleet struct {
	profiles int
	lifetime time.Duration
	putTPS   float64
	bench    bool // only in make bench (PERF=1): too slow for make test
}

var budgetFleets = []budgetFleet{
	// make test: a tenth of the fleet at a tenth of the rate, the same
	// ratio of profiles to budget.
	{profiles: 100, lifetime: time.Hour, putTPS: 0.3},
	{profiles: 100, lifetime: 24 * time.Hour, putTPS: 0.3},
	{profiles: 1000, lifetime: time.Hour, putTPS: 3, bench: true},
	{profiles: 1000, lifetime: 24 * time.Hour, putTPS: 3, bench: true},
	{profiles: 10000, lifetime: 24 * time.Hour, putTPS: 3, bench: true},
	{profiles: 10000, lifetime: 24 * time.Hour, putTPS: 10, bench: true},
}

// budgetRow is what one fleet's simulation shows against its budget.
type budgetRow struct {
	fillRuns, maxSteady, budget, steadyDeferred, requests int
}

// simulateBudget runs a fleet for 48 h (the shipped spread defaults, the
// quota model of simulateHerd) and measures the writes of each run in
// the second day, when the first fill's effect has settled into the
// fleet's steady shape, against the writes PutParameter allows in one
// schedule interval.
func simulateBudget(t *testing.T, f budgetFleet) budgetRow {
	res := simulateHerd(t, herdConfig{name: fmt.Sprintf("%d x %s", f.profiles, human(f.lifetime)),
		lifetime: f.lifetime, profiles: f.profiles, putTPS: f.putTPS, span: 48 * time.Hour})
	row := budgetRow{budget: int(f.putTPS * herdInterval.Seconds()), requests: res.requests}
	for i, d := range res.deferred {
		if d > 0 {
			row.fillRuns = i + 2
		}
	}
	row.fillRuns = max(row.fillRuns, 1)
	half := len(res.perRun) / 2
	row.maxSteady = slices.Max(res.perRun[half:])
	for _, d := range res.deferred[half:] {
		row.steadyDeferred += d
	}
	return row
}

// TestHerdWithinWriteBudget checks that the spread of refresh times keeps a
// steady fleet within the write budget: in the second day no run needs more
// writes than PutParameter allows in one schedule interval, and nothing is
// deferred. make test runs 100-profile fleets at 0.3 TPS (the ratio of
// 1,000 at 3 TPS); make bench all of them and prints the table.
func TestHerdWithinWriteBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("a 48 h simulation")
	}
	perf := os.Getenv("PERF") == "1"
	var rows [][]string
	for _, f := range budgetFleets {
		if f.bench && !perf {
			continue
		}
		row := simulateBudget(t, f)
		if row.maxSteady > row.budget || row.steadyDeferred > 0 {
			t.Errorf("%d x %s at %g TPS: up to %d writes in a steady run, %d deferred; want at most %d (TPS x %s), none deferred",
				f.profiles, human(f.lifetime), f.putTPS, row.maxSteady, row.steadyDeferred, row.budget, human(herdInterval))
		}
		progressf("herd within the write budget: %d x %s at %g TPS: max %d writes in a steady run (budget %d)", f.profiles, human(f.lifetime), f.putTPS, row.maxSteady, row.budget)
		rows = append(rows, []string{itoa(f.profiles), human(f.lifetime), fmt.Sprintf("%g", f.putTPS), itoa(row.fillRuns),
			itoa(row.maxSteady), itoa(row.budget), fmt.Sprintf("%.0f%%", 100*float64(row.maxSteady)/float64(row.budget)), itoa(row.steadyDeferred), itoa(row.requests)})
	}
	if !perf {
		return
	}
	rep := newReport(t, "55-herd-write-budget", "Steady state under the quota model: writes per run against the PutParameter budget (simulated 48 h)")
	rep.printf("The real Rotator on a simulated clock over in-memory SSM, a run every %s, shipped spread defaults, write budget\n"+
		"at the TPS shown with a %s Lambda timeout; a run's writes take writes/TPS (later runs wait for it). Budget = TPS x %s,\n"+
		"the writes PutParameter allows between two scheduled runs. \"Steady\" = the second day. Fill runs = runs until\n"+
		"nothing was deferred.\n\n", human(herdInterval), human(herdTimeout), human(herdInterval))
	rep.table([]string{"profiles", "lifetime", "PutParameter TPS", "fill runs", "max writes in a steady run", "budget per run", "of budget", "deferred (steady)", "token requests in 48 h"}, rows)
	rep.done()
}
