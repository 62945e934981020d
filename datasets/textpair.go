package datasets

import (
	"fmt"
	"math"
	"strings"
)

// TextPair is one preference pair read from a text file: the prompt, the
// preferred response and the dispreferred one. Prompt+Chosen is the full
// text of the preferred conversation (and likewise for Rejected).
type TextPair struct {
	Prompt, Chosen, Rejected string
}

// ChatMessage is one turn of a conversation in TRL's conversational format.
type ChatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// HHAssistant is the marker that ends the prompt of an Anthropic HH record.
const HHAssistant = "\n\nAssistant:"

// roleLabel maps a TRL role to the speaker label of the plain template.
func roleLabel(role string) (string, bool) {
	switch role {
	case "user":
		return "Human", true
	case "assistant":
		return "Assistant", true
	case "system":
		return "System", true
	}
	return "", false
}

// RenderMessages renders a conversation with the plain template shared with
// Anthropic HH: each message becomes "\n\n" + Label + ": " + content, where
// Label is "Human" for role "user", "Assistant" for "assistant" and "System"
// for "system". It returns an error naming the index of a message with any
// other role.
//
// A TRL record with prompt messages P and chosen messages [a, rest…]
// (a.role == "assistant") becomes
//
//	Prompt = RenderMessages(P) + "\n\nAssistant:"
//	Chosen = " " + a.content + RenderMessages(rest)
//
// so that Prompt+Chosen == RenderMessages(P ++ [a, rest…]).
func RenderMessages(msgs []ChatMessage) (string, error) {
	var sb strings.Builder
	for i, m := range msgs {
		label, ok := roleLabel(m.Role)
		if !ok {
			return "", fmt.Errorf("message %d: unknown role %q (want user, assistant or system)", i, m.Role)
		}
		sb.WriteString("\n\n")
		sb.WriteString(label)
		sb.WriteString(": ")
		sb.WriteString(m.Content)
	}
	return sb.String(), nil
}

// SplitHH splits an Anthropic HH pair of full transcripts into the shared
// prompt, up to and including the last "\n\nAssistant:" inside the longest
// common prefix of chosen and rejected, and the two responses that follow.
// ok is false when the common prefix holds no "\n\nAssistant:".
func SplitHH(chosen, rejected string) (prompt, chosenResp, rejectedResp string, ok bool) {
	n := 0
	for n < len(chosen) && n < len(rejected) && chosen[n] == rejected[n] {
		n++
	}
	i := strings.LastIndex(chosen[:n], HHAssistant)
	if i < 0 {
		return "", "", "", false
	}
	end := i + len(HHAssistant)
	return chosen[:end], chosen[end:], rejected[end:], true
}

// TLDRPrompt builds the prompt of a TL;DR comparison record:
//
//	"SUBREDDIT: r/{subreddit}\nTITLE: {title}\nPOST: {post}\nTL;DR:"
//
// The SUBREDDIT and TITLE lines are left out when their value is empty.
func TLDRPrompt(subreddit, title, post string) string {
	var sb strings.Builder
	if subreddit != "" {
		sb.WriteString("SUBREDDIT: r/" + subreddit + "\n")
	}
	if title != "" {
		sb.WriteString("TITLE: " + title + "\n")
	}
	sb.WriteString("POST: " + post + "\nTL;DR:")
	return sb.String()
}

// LengthSummary summarizes response lengths of preference pairs, the
// statistics behind the length bias of a data set.
type LengthSummary struct {
	// N is the number of pairs.
	N int
	// MeanChosen and MeanRejected are the mean lengths of the responses.
	MeanChosen, MeanRejected float64
	// Longer and Shorter count the pairs whose chosen response is longer,
	// respectively shorter, than the rejected one by at least MinGap;
	// Even counts the others.
	Longer, Shorter, Even int
	// MinGap is the length difference from which a pair counts as differing.
	MinGap int
	// LongerRate is Longer/(Longer+Shorter): the fraction of pairs differing
	// in length that prefer the longer response (ρ of the paper); NaN when
	// no pair differs.
	LongerRate float64
}

// SummarizeLengths measures chosen and rejected lengths with length (for
// example the number of tokens or bytes) and counts the pairs preferring the
// longer response by at least minGap (minGap < 1 counts as 1).
func SummarizeLengths(pairs []TextPair, length func(string) int, minGap int) LengthSummary {
	minGap = max(minGap, 1)
	s := LengthSummary{N: len(pairs), MinGap: minGap}
	var sc, sr float64
	for _, p := range pairs {
		lc, lr := length(p.Chosen), length(p.Rejected)
		sc += float64(lc)
		sr += float64(lr)
		switch d := lc - lr; {
		case d >= minGap:
			s.Longer++
		case -d >= minGap:
			s.Shorter++
		default:
			s.Even++
		}
	}
	if s.N > 0 {
		s.MeanChosen = sc / float64(s.N)
		s.MeanRejected = sr / float64(s.N)
	}
	s.LongerRate = math.NaN()
	if s.Longer+s.Shorter > 0 {
		s.LongerRate = float64(s.Longer) / float64(s.Longer+s.Shorter)
	}
	return s
}

// WordCount returns the number of whitespace-separated words of s, a length
// measure for [SummarizeLengths].
func WordCount(s string) int { return len(strings.Fields(s)) }
