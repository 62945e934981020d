package lab

import "fmt"

// SeqSummary returns one line per sequence run of the table: its grid
// values, the final win rate with CI, mean oracle reward, mean length,
// KL(π‖π_ref) and the largest implicit reward; then a line "made on: …"
// with the runs' Provenance (one entry per distinct one, "; " between).
func (t *Table) SeqSummary() string {
	s := fmt.Sprintf("%-40s %-24s %8s %8s %9s %9s\n", "run", "win rate [95% CI]", "r*", "length", "KL(π‖ref)", "max|βh|")
	for _, r := range t.Rows {
		if r.Err != nil || r.Run == nil || r.Run.Seq == nil {
			s += fmt.Sprintf("%-40s error: %v\n", r.Config.Label(), r.Err)
			continue
		}
		q := r.Run.Seq
		s += fmt.Sprintf("%-40s %.3f [%.3f, %.3f]    %8.3f %8.2f %9.3f %9.3f\n", r.Run.Label, q.WinRate.Rate, q.WinRate.Lo,
			q.WinRate.Hi, q.OracleReward, q.MeanLength, q.KLReverse, r.Run.History.Last("implicit_reward/max_abs"))
	}
	if p := t.provenance(); p != "" {
		s += "made on: " + p + "\n"
	}
	return s
}
