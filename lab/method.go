package lab

import (
	"fmt"
	"reflect"
	"strings"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
	"github.com/robustpo/robustpo/losses"
)

// Method selects the training objective of Train. What each method is made
// of (reward models, a KL term, its pair loss) is one row of methodSpecs;
// trainers ask the predicates below instead of testing the constants.
type Method int

const (
	// DPO: L = −E log σ(β·Δh) (losses.DPO, the mean of losses.DPOPair).
	// Config.PairLoss, when set, replaces its pair loss.
	DPO Method = iota
	// IPO: L = E (Δh − 1/(2β))² (losses.IPO, the mean of losses.IPOPair).
	IPO
	// CDPO: DPO with label smoothing Epsilon (losses.CDPO, the mean of
	// losses.CDPOPair(ε)).
	CDPO
	// Distill: L = E_ρ (Δr − β·Δh)² against one reward model (the ensemble
	// mean when EnsembleSize > 1) on the pairs selected by DistillPairs
	// (losses.Distill), plus Gamma·KL(π_ref‖π_θ) when Gamma > 0: the
	// ablation that separates e-DPO's minimum over members from its KL term.
	Distill
	// EDPO: pessimistic ensemble distillation min_i L_distill(r_i) under
	// Aggregation (a soft minimum when SoftMinTemperature > 0), plus
	// Gamma·KL(π_ref‖π_θ) computed exactly (losses.EnsembleDistillSoft +
	// losses.ForwardKLExact).
	EDPO
	// PDPO: DPO plus Gamma·KL(π_ref‖π_θ) computed exactly (losses.DPO +
	// losses.ForwardKLExact).
	PDPO
	// RLHF: the optimum of J_r(π) = E_x[E_π r − β·KL(π‖π_ref)] for the reward
	// model r (the ensemble mean): closed form π*_r ∝ π_ref·exp(r/β) for tabular
	// policies, gradient ascent on the exact J_r for log-linear ones.
	RLHF
)

// methodSpec is what a Method is made of: the one table the trainers, the
// sweep's batching, the run cache's checks and Config's defaults and labels
// read.
type methodSpec struct {
	// name is the Go name (String); paper the name as the paper writes it
	// (PaperName), when it differs.
	name, paper string
	// rewards: the method fits reward models (or reads the oracle's) before
	// training: Run.Rewards holds EnsembleSize members.
	rewards bool
	// distill: the loss is distillation on ρ's pairs (DistillPairs, RefPairs)
	// against the members' reward margins; meanMember: against their mean
	// (one column) rather than each member.
	distill, meanMember bool
	// ensemble: the loss takes a minimum over members (Aggregation,
	// SoftMinTemperature; EnsembleSize defaults to 3).
	ensemble bool
	// kl: the objective adds Gamma·KL(π_ref‖π_θ); klIfGamma: it does when
	// Gamma > 0.
	kl, klIfGamma bool
	// pair returns the per-pair loss of a preference method, CDPO's ε being
	// eps (a [C, B] node of a batched graph) or, when eps is nil, cfg.Epsilon.
	pair func(cfg Config, eps *Node) losses.PairLoss
	// batched: finite-set runs train in the batched trainer (all but RLHF).
	batched bool
	// closedForm: tabular runs are the closed-form optimum, with no steps
	// (RLHF: π*_r ∝ π_ref·exp(r/β)).
	closedForm bool
	// label returns what Config.Label adds after "<method> β=…".
	label func(cfg Config) string
}

// methodSpecs is the table of every Method, indexed by its value.
var methodSpecs = [...]methodSpec{
	DPO: {name: "DPO", batched: true, pair: func(Config, *Node) losses.PairLoss { return losses.DPOPair }},
	IPO: {name: "IPO", batched: true, pair: func(Config, *Node) losses.PairLoss { return losses.IPOPair }},
	CDPO: {name: "CDPO", paper: "cDPO", batched: true,
		pair: func(c Config, eps *Node) losses.PairLoss {
			if eps != nil {
				return losses.CDPOPair(eps)
			}
			return losses.CDPOPair(c.Epsilon)
		},
		label: func(c Config) string { return fmt.Sprintf(" ε=%g", c.Epsilon) }},
	Distill: {name: "Distill", rewards: true, distill: true, meanMember: true, klIfGamma: true, batched: true,
		label: func(c Config) string {
			if c.Gamma > 0 {
				return fmt.Sprintf(" γ=%g %v", c.Gamma, c.DistillPairs)
			}
			return " " + c.DistillPairs.String()
		}},
	EDPO: {name: "EDPO", paper: "e-DPO", rewards: true, distill: true, ensemble: true, kl: true, batched: true,
		label: func(c Config) string {
			agg := c.Aggregation.String()
			if c.SoftMinTemperature > 0 {
				agg += fmt.Sprintf(" τ=%g", c.SoftMinTemperature)
			}
			return fmt.Sprintf(" γ=%g k=%d %s %v", c.Gamma, c.EnsembleSize, agg, c.DistillPairs)
		}},
	PDPO: {name: "PDPO", paper: "p-DPO", kl: true, batched: true, pair: func(Config, *Node) losses.PairLoss { return losses.DPOPair },
		label: func(c Config) string { return fmt.Sprintf(" γ=%g", c.Gamma) }},
	RLHF: {name: "RLHF", rewards: true, closedForm: true},
}

// spec returns m's row of methodSpecs (the zero methodSpec for an unknown m).
func (m Method) spec() methodSpec {
	if m >= 0 && int(m) < len(methodSpecs) {
		return methodSpecs[m]
	}
	return methodSpec{}
}

// String returns the method's Go name ("DPO", …, "RLHF"), or "Method(n)".
func (m Method) String() string {
	if s := m.spec(); s.name != "" {
		return s.name
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// PaperName returns the method's name as the paper writes it ("cDPO",
// "e-DPO", "p-DPO"; the others as String): what labels, tables and figures
// show. Grids, CSV files and the run cache keep String's Go names.
func (m Method) PaperName() string {
	if s := m.spec(); s.paper != "" {
		return s.paper
	}
	return m.String()
}

// valid reports whether m is one of the constants.
func (m Method) valid() bool { return m.spec().name != "" }

// usesRewards reports whether m fits reward models (Distill, EDPO, RLHF).
func (m Method) usesRewards() bool { return m.spec().rewards }

// distills reports whether m trains on distillation pairs ρ against reward
// margins (Distill, EDPO).
func (m Method) distills() bool { return m.spec().distill }

// minOverMembers reports whether m's loss takes a minimum over ensemble
// members (EDPO).
func (m Method) minOverMembers() bool { return m.spec().ensemble }

// hasKL reports whether m's objective has the term Gamma·KL(π_ref‖π_θ)
// (PDPO, EDPO).
func (m Method) hasKL() bool { return m.spec().kl }

// batched reports whether finite-set runs of m train in the batched trainer.
func (m Method) batched() bool { return m.spec().batched }

// closedForm reports whether tabular runs of m are a closed form (RLHF).
func (m Method) closedForm() bool { return m.spec().closedForm }

// distillsMean reports whether m distils the reward members' mean (Distill)
// rather than each member (EDPO).
func (m Method) distillsMean() bool { return m.spec().meanMember }

// distillMembers returns the reward members m distils: the members' mean
// (Distill) or the members themselves (EDPO); rewards is [k][P·R].
func (m Method) distillMembers(rewards [][]float64) [][]float64 {
	if m.distillsMean() {
		return [][]float64{meanRewards(rewards)}
	}
	return rewards
}

// pairLoss returns c's per-pair loss: Config.PairLoss when set, else its
// method's (nil for methods without one: Distill, EDPO, RLHF). eps, when not
// nil, is CDPO's ε as a node of the batched graph ([C, B], one ε per config).
func (c Config) pairLoss(eps *Node) losses.PairLoss {
	if c.PairLoss != nil {
		return errorPanics(c.PairLoss)
	}
	if p := c.Method.spec().pair; p != nil {
		return p(c, eps)
	}
	return nil
}

// klTerm reports whether c's objective adds Gamma·KL(π_ref‖π_θ): always for
// PDPO and EDPO (Gamma may be 0), and for Distill and a Config.PairLoss when
// Gamma > 0.
func (c Config) klTerm() bool {
	return c.Method.hasKL() || ((c.PairLoss != nil || c.Method.spec().klIfGamma) && c.Gamma > 0)
}

// objective returns c's loss without the KL term, [...]: the losses
// package's function of the log-ratios h1, h2 [..., batch] of the examples'
// two responses (chosen and rejected, or ρ's pair y1, y2) and, for Distill
// and EDPO, the members' reward margins rd [..., batch, k] (k = 1 for
// Distill; nil otherwise), with β a number or a node broadcastable to h1 and
// CDPO's ε eps (a node, or nil for c.Epsilon). Every trainer calls it: the
// reference (train), the batched one ([C, B] inputs, β and ε per config) and
// the sequence one (its steps and its logged loss).
func objective[B losses.Param](c Config, h1, h2, rd *Node, beta B, eps *Node) *Node {
	switch {
	case c.Method.minOverMembers():
		return losses.EnsembleDistillSoft(h1, h2, rd, beta, c.Aggregation, c.SoftMinTemperature)
	case c.Method.distills():
		return losses.Distill(h1, h2, Squeeze(rd, -1), beta)
	}
	return losses.MeanPairLoss(c.pairLoss(eps), h1, h2, beta)
}

// enumNames holds, for every enumerated Config field type, its constants'
// Go names in value order: what their String methods print and what a Grid
// axis may name them by (enumValue).
var enumNames = map[reflect.Type][]string{
	reflect.TypeFor[Method]():             methodNames(),
	reflect.TypeFor[PolicyKind]():         policyKindNames[:],
	reflect.TypeFor[Optimizer]():          optimizerNames[:],
	reflect.TypeFor[DistillPairs]():       distillPairsNames[:],
	reflect.TypeFor[RewardSource]():       rewardSourceNames[:],
	reflect.TypeFor[EnsembleSampling]():   ensembleSamplingNames[:],
	reflect.TypeFor[losses.Aggregation](): {losses.MinPerBatch.String(), losses.MinPerExample.String(), losses.Hull.String()},
}

// methodNames returns the names of the methods, in value order.
func methodNames() []string {
	names := make([]string, len(methodSpecs))
	for i, s := range methodSpecs {
		names[i] = s.name
	}
	return names
}

// enumString returns names[v], or "<typeName>(v)" when v is out of range.
func enumString(names []string, v int, typeName string) string {
	if v >= 0 && v < len(names) {
		return names[v]
	}
	return fmt.Sprintf("%s(%d)", typeName, v)
}

// enumValue returns the value of the constant of enumerated type t named
// name (case-insensitive, "PDPO" or "pdpo" for Method). ok is false when t is
// not an enumerated Config field type; err says when name names none of t's
// constants.
func enumValue(t reflect.Type, name string) (v int64, ok bool, err error) {
	names, ok := enumNames[t]
	if !ok {
		return 0, false, nil
	}
	for i, n := range names {
		if strings.EqualFold(n, name) {
			return int64(i), true, nil
		}
	}
	return 0, true, fmt.Errorf("%q names no %v constant (%s)", name, t, strings.Join(names, ", "))
}
