package datasets_test

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/robustpo/robustpo/datasets"
)

// ExampleNewReader streams an Anthropic HH file in lenient mode: the bad
// record on line 2 is skipped and reported with its line.
func ExampleNewReader() {
	data := `{"chosen":"\n\nHuman: Say hi.\n\nAssistant: Hi!","rejected":"\n\nHuman: Say hi.\n\nAssistant: No."}
{"chosen":"\n\nHuman: Say hi.","rejected":"\n\nHuman: Say hi.\n\nAssistant: No."}
`
	r, err := datasets.NewReader(strings.NewReader(data), datasets.ReadOptions{Lenient: true, Name: "hh.jsonl"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for {
		p, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("prompt %q chosen %q rejected %q\n", p.Prompt, p.Chosen, p.Rejected)
	}
	rep := r.Report()
	fmt.Println(rep.Examples[0])
	// Output:
	// prompt "\n\nHuman: Say hi.\n\nAssistant:" chosen " Hi!" rejected " No."
	// hh.jsonl:2: chosen: no Assistant turn: no "\n\nAssistant:" in the transcript
}
