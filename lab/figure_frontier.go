package lab

import (
	"errors"
	"fmt"
	"math"

	"github.com/robustpo/robustpo/datasets"
	"github.com/robustpo/robustpo/lab/internal/render"
)

// frontierPoints is the number of β values of the π*_β curve of Frontier.
const frontierPoints = 96

// Frontier returns a Figure of the reward–KL plane of finite-set runs with an
// oracle reward r*: x = KL(π‖π_ref) (kl/reverse), y = E_x E_π r*
// (oracle/reward), a picture that compares policies across β without
// comparing their β-dependent objectives.
//
// It has one panel per combination of the grid fields other than Beta, line
// and Seed (typically one per Method) and, in each, one line per value of the
// field line (say "Gamma"; "" for one line per panel) through the means over
// seeds of (x, y) at each β, in grid order, with the 95% Student-t interval
// of the reward as error bars. A value of line has the same colour and marker
// in every panel. Every panel also shows
//
//   - π_ref at (0, E_{π_ref} r*): what not training gives;
//   - the RLHF optima π*_β ∝ π_ref·exp(r*/β), for β from β_min/10 to
//     100·β_max and β → ∞ (π_ref), as a dashed grey curve. π*_β maximises
//     E_π r* − β·KL(π‖π_ref), so at its own KL no policy has a larger
//     reward: the curve is the frontier, and the height of a point below it
//     is reward given up at that distance from π_ref.
//
// data must hold the dataset of every successful row (matched by
// Run.DataFingerprint), each with an oracle. With several datasets (one per
// seed, say), π_ref's point and the curve are means over the datasets the
// rows use, each counted once, as the points are means over seeds. Failed
// rows are left out; it is an error when no row is left, when a row's dataset
// is not given or has no oracle, or when line is not a Config field.
func (t *Table) Frontier(line string, data ...*datasets.FiniteData) (*Figure, error) {
	if line != "" && len(t.Rows) > 0 && t.Rows[0].Field(line) == nil {
		return nil, fmt.Errorf("lab: Frontier: %q is not a Config field", line)
	}
	byFP := map[string]*datasets.FiniteData{}
	for _, d := range data {
		if d != nil {
			byFP[d.Fingerprint()] = d
		}
	}
	ok := t.Filter(func(r Row) bool { return r.Err == nil })
	if ok.Len() == 0 {
		return nil, errors.New("lab: Frontier: no successful rows")
	}
	var used []*problem
	seen := map[string]bool{}
	betaLo, betaHi := math.Inf(1), math.Inf(-1)
	for _, r := range ok.Rows {
		if r.Run == nil {
			return nil, fmt.Errorf("lab: Frontier: row %s has no run", r.Config.Label())
		}
		fp := r.Run.DataFingerprint
		betaLo, betaHi = math.Min(betaLo, r.Config.Beta), math.Max(betaHi, r.Config.Beta)
		if seen[fp] {
			continue
		}
		seen[fp] = true
		d, found := byFP[fp]
		if !found {
			return nil, fmt.Errorf("lab: Frontier: row %s was trained on dataset %q (fingerprint %.12s), which is not among the %d datasets given",
				r.Config.Label(), r.Run.Dataset, fp, len(data))
		}
		if !d.HasOracle() {
			return nil, fmt.Errorf("lab: Frontier: dataset %q has no oracle reward", d.Name)
		}
		pr, err := newProblem(d, AutoPolicy)
		if err != nil {
			return nil, fmt.Errorf("lab: Frontier: %w", err)
		}
		used = append(used, pr)
	}
	if !(betaLo > 0) {
		return nil, fmt.Errorf("lab: Frontier: β = %g, need β > 0", betaLo)
	}

	// π_ref and the π*_β curve, means over the datasets used.
	refReward := 0.0
	for _, pr := range used {
		_, rw := optimumPoint(pr, math.Inf(1))
		refReward += rw / float64(len(used))
	}
	curve := render.Line{Label: "π*_{β} (RLHF optimum: the frontier)", Reference: true}
	lo, hi := math.Log(betaLo/10), math.Log(100*betaHi)
	for i := range frontierPoints {
		beta := math.Exp(lo + (hi-lo)*float64(i)/float64(frontierPoints-1))
		var kl, rw float64
		for _, pr := range used {
			k, w := optimumPoint(pr, beta)
			kl += k / float64(len(used))
			rw += w / float64(len(used))
		}
		curve.X, curve.Y = append(curve.X, kl), append(curve.Y, rw)
	}
	curve.X, curve.Y = append(curve.X, 0), append(curve.Y, refReward)

	groups := []any{nil}
	if line != "" {
		groups = distinct(ok.Rows, line)
	}
	// π_ref in black (Okabe–Ito's 7th colour) unless the lines need it.
	ref := render.Line{Label: "π_{ref} (no training)", Style: max(6, len(groups)), Markers: true, X: []float64{0}, Y: []float64{refReward}}
	_, xAxis := metricLabel("kl/reverse")
	_, yAxis := metricLabel("oracle/reward")
	f := &Figure{}
	for _, fc := range ok.facets("Beta", line) {
		p := render.Panel{Title: fc.title, XLabel: xAxis, YLabel: yAxis}
		if p.Title == "" {
			p.Title = "oracle reward against KL to π_{ref}"
		}
		p.Lines = append(p.Lines, curve)
		for gi, gv := range groups {
			sub := &Table{Fields: t.Fields, Metrics: t.Metrics, Rows: fc.rows}
			l := render.Line{Label: "trained policies, one point per β", Style: gi, Markers: true}
			if line != "" {
				sub = sub.Where(line, gv)
				l.Label = valueLabel(line, gv)
			}
			for _, g := range sub.GroupBy("Beta").Groups {
				x, y := g.Mean["kl/reverse"], g.Mean["oracle/reward"]
				if math.IsNaN(x) || math.IsNaN(y) {
					continue
				}
				appendPoint(&l, x, y, g.CI95["oracle/reward"])
			}
			if len(l.X) > 0 {
				p.Lines = append(p.Lines, l)
			}
		}
		p.Lines = append(p.Lines, ref)
		f.addPanel("oracle/reward", p)
	}
	return f, nil
}

// optimumPoint returns KL(π*_β‖π_ref) and E_x E_{π*_β} r* of pr's oracle,
// means over prompts; β = +Inf gives π_ref itself (0 and its reward).
func optimumPoint(pr *problem, beta float64) (kl, reward float64) {
	rs := flatten(pr.data.Oracle)
	lp := pr.refLP
	if !math.IsInf(beta, 1) {
		lp = pr.optimalLogProbs(rs, beta)
	}
	for i, l := range lp {
		p := math.Exp(l)
		if p > 0 {
			kl += p * (l - pr.refLP[i])
			reward += p * rs[i]
		}
	}
	return kl / float64(pr.p), reward / float64(pr.p)
}
