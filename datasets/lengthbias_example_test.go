package datasets_test

import (
	"fmt"

	"github.com/robustpo/robustpo/datasets"
)

// ExampleLengthBias builds the default synthetic task and a strongly biased
// split D_0.2, in which only 20% of the length-differing pairs prefer the
// longer response.
func ExampleLengthBias() {
	task, err := datasets.LengthBias(datasets.LengthBiasConfig{Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	tok := task.Tokenizer()
	x := []int{4, 20, 5, 21, 22} // s0 w0 s1 w1 w2
	y, _ := tok.Encode("s0 s1 w2 w9")
	fmt.Printf("vocab %d, max length %d\n", task.Vocab.Size, task.MaxLen())
	fmt.Printf("r*(%s | %s) = %.1f\n", tok.Decode(y), tok.Decode(x), task.Oracle(x, y)) // 2 covered − 1 hallucinated + 0.1·4

	split, err := task.Split(0.2)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("D_0.2: achieved rho within 0.02: %v\n", split.Rho > 0.18 && split.Rho < 0.22)
	// Output:
	// vocab 64, max length 43
	// r*(s0 s1 w2 w9 | s0 w0 s1 w1 w2) = 1.4
	// D_0.2: achieved rho within 0.02: true
}
