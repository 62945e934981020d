//go:build ignore

// Command gensamples writes the invented test fixtures of this directory,
// one preference file per format, from invented text (nothing is
// downloaded; the real data is under ../hh-rlhf):
//
//	cd datasets/testdata/invented && go run gensamples.go
//
// It writes trl.jsonl (string records), trl_chat.jsonl (message records),
// hh.jsonl, tldr.jsonl and tldr.jsonl.gz. The output is deterministic. In
// every file the chosen response is the more helpful one and, by design,
// usually but not always the longer one, so the files show a length bias.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"log"
	"math/rand/v2"
	"os"
	"strings"
)

type topic struct {
	question string
	good     []string // helpful sentences, best first
	poor     []string // unhelpful sentences
}

var topics = []topic{
	{"How do I keep basil alive on a windowsill?",
		[]string{"Give it at least six hours of direct sun a day.", "Water when the top centimetre of soil is dry, not on a schedule.", "Pinch off flower buds so the plant keeps making leaves.", "Use a pot with drainage holes so the roots never sit in water."},
		[]string{"Basil is hard.", "Maybe buy a new one every week.", "Plants need water."}},
	{"What is a good way to start running?",
		[]string{"Begin with intervals: one minute of running, two of walking, for twenty minutes.", "Run three times a week with a rest day in between.", "Keep the pace slow enough that you can talk.", "Add no more than ten percent to your weekly distance."},
		[]string{"Just run a marathon.", "Running is bad for knees, do not start.", "Buy expensive shoes."}},
	{"How can I make my bread rise better?",
		[]string{"Check that the yeast is alive by proofing it in warm water with sugar.", "Let the dough rise somewhere warm, around 26 degrees.", "Knead until the dough passes the windowpane test.", "Do not add salt directly on top of the yeast."},
		[]string{"Use more flour.", "Bread rises by itself.", "Bake it longer."}},
	{"How do I fix a flat bicycle tyre?",
		[]string{"Remove the wheel and lever one side of the tyre off the rim.", "Pump the tube and find the hole by listening or using water.", "Patch the hole after roughening the area, or fit a new tube.", "Run your fingers inside the tyre to remove whatever caused the puncture."},
		[]string{"Take it to a shop.", "Tyres go flat sometimes.", "Ride it anyway."}},
	{"What should I pack for a day hike?",
		[]string{"Bring more water than you think, about half a litre per hour.", "Pack a warm layer and a rain jacket even if the forecast is good.", "Carry a map and tell someone your route.", "Take snacks with salt and sugar."},
		[]string{"Nothing, travel light.", "A phone is enough.", "Hiking is dangerous."}},
	{"How do I learn to touch type?",
		[]string{"Keep your fingers on the home row, F and J under the index fingers.", "Practise fifteen minutes a day with a typing tutor.", "Do not look at the keyboard, accept the errors at first.", "Aim for accuracy before speed."},
		[]string{"Type with two fingers, it works.", "Buy a faster keyboard.", "Typing is obsolete."}},
	{"How can I sleep better?",
		[]string{"Go to bed and get up at the same time every day.", "Avoid screens for an hour before bed.", "Keep the bedroom cool and dark.", "Cut caffeine after early afternoon."},
		[]string{"Sleep is overrated.", "Drink coffee to feel awake.", "Stay up until you are tired."}},
	{"How do I remove a coffee stain from a shirt?",
		[]string{"Blot the stain right away with cold water.", "Rub in a little liquid detergent and leave it for five minutes.", "Wash at the hottest temperature the fabric allows.", "Check the stain is gone before drying, heat sets it."},
		[]string{"Throw the shirt away.", "Wear a darker shirt.", "Stains add character."}},
}

// rambles are long, unhelpful sentences: they make a rejected response
// longer than a short helpful one.
var rambles = []string{
	"Honestly there are so many opinions about this online that it is hard to say anything definite, and everyone seems to have their own way of doing it.",
	"I remember reading a long discussion about this once, but I cannot recall what the conclusion was, so it probably depends on a lot of different things.",
	"People have been asking this question for years and the answers keep changing, so whatever you decide is probably fine in the end.",
}

// responses returns a chosen (helpful) and a rejected (poor) response. With
// probability pLonger the chosen one has more sentences.
func responses(rng *rand.Rand, t topic, pLonger float64) (string, string) {
	if rng.Float64() < pLonger {
		nc := 2 + rng.IntN(3) // 2..4
		nr := 1 + rng.IntN(nc-1)
		return join(t.good[:nc]), join(pick(rng, t.poor, nr))
	}
	rej := append(pick(rng, t.poor, 1), pick(rng, rambles, 1+rng.IntN(2))...)
	return join(t.good[:1]), join(rej)
}

func pick(rng *rand.Rand, pool []string, n int) []string {
	perm := rng.Perm(len(pool))
	out := make([]string, 0, n)
	for _, i := range perm[:n] {
		out = append(out, pool[i])
	}
	return out
}

func join(s []string) string { return strings.Join(s, " ") }

func writeJSONL(name string, records []any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, r := range records {
		if err := enc.Encode(r); err != nil {
			log.Fatal(err)
		}
	}
	if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}

func main() {
	rng := rand.New(rand.NewPCG(2025, 6))
	const n = 24

	var trl, chat, hh, tldr []any
	for i := range n {
		t := topics[i%len(topics)]
		c, r := responses(rng, t, 0.75)
		trl = append(trl, map[string]any{"prompt": t.question, "chosen": c, "rejected": r})
	}
	for i := range n {
		t := topics[(i+3)%len(topics)]
		c, r := responses(rng, t, 0.75)
		prompt := []map[string]string{{"role": "system", "content": "You are a concise, practical assistant."}, {"role": "user", "content": t.question}}
		chat = append(chat, map[string]any{
			"prompt":   prompt,
			"chosen":   []map[string]string{{"role": "assistant", "content": c}},
			"rejected": []map[string]string{{"role": "assistant", "content": r}},
		})
	}
	for i := range n {
		t := topics[(i+5)%len(topics)]
		c, r := responses(rng, t, 0.75)
		prefix := "\n\nHuman: " + t.question + "\n\nAssistant:"
		if i%3 == 0 { // a two-turn conversation
			prefix = "\n\nHuman: Hi, can I ask you something practical?\n\nAssistant: Of course, go ahead." + prefix
		}
		hh = append(hh, map[string]any{"chosen": prefix + " " + c, "rejected": prefix + " " + r})
	}
	subs := []string{"gardening", "running", "Breadit", "bikewrench", "hiking", "learnprogramming", "sleep", "lifehacks"}
	for i := range n {
		k := (i + 1) % len(topics)
		t := topics[k]
		post := "I have been trying to figure this out for a while. " + t.question + " I tried a few things from videos but nothing stuck, and I would love advice from people who have done it. " + join(t.good[2:])
		good, poor := " "+join(t.good[:1]), " "+join(append(pick(rng, t.poor, 1), pick(rng, rambles, 1)...))
		if rng.Float64() < 0.75 {
			good = " " + join(t.good[:2+rng.IntN(2)])
			poor = " " + t.poor[rng.IntN(len(t.poor))]
		}
		choice := rng.IntN(2)
		sums := []map[string]any{{"text": good, "policy": "ref", "note": ""}, {"text": poor, "policy": "sup2", "note": ""}}
		if choice == 1 {
			sums[0], sums[1] = sums[1], sums[0]
		}
		tldr = append(tldr, map[string]any{
			"info":      map[string]any{"id": "t3_sample" + string(rune('a'+i)), "post": post, "title": t.question, "subreddit": subs[k]},
			"summaries": sums,
			"choice":    choice,
			"worker":    "sample",
			"batch":     "sample",
			"split":     "train",
		})
	}
	writeJSONL("trl.jsonl", trl)
	writeJSONL("trl_chat.jsonl", chat)
	writeJSONL("hh.jsonl", hh)
	writeJSONL("tldr.jsonl", tldr)

	raw, err := os.ReadFile("tldr.jsonl")
	if err != nil {
		log.Fatal(err)
	}
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	if _, err := w.Write(raw); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("tldr.jsonl.gz", gz.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
