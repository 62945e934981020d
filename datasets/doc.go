// Package datasets holds the preference data of the lab: synthetic generators
// with known oracles, loaders for preference files written by other tools,
// validation, and tokenization. It depends on the standard library only.
//
// # Sequence data
//
// [LengthBias] builds a [SeqTask], a synthetic analogue of the TL;DR
// summarization experiment of Fisch et al. (2025): documents are token
// sequences holding a few salient tokens, responses are token sequences, and
// the oracle reward is
//
//	r*(x, y) = covered(x, y) − hallucinated(x, y) + λ·len(y)
//
// where covered counts the distinct salient tokens of x that appear in y,
// hallucinated counts the tokens of y that do not occur in x, and λ > 0 is
// small, so the oracle mildly prefers longer responses. Preference pairs are
// labelled by Bradley–Terry on r*, and [SeqTask.Split] subsamples them so that
// a chosen fraction ρ of the pairs whose lengths differ prefers the longer
// response, reproducing the paper's biased data sets D_ρ. All token ids are
// plain ints over a [Vocab] with PAD, BOS, EOS and SEP ids.
//
// # Text files
//
// [LoadJSONL] and the streaming [Reader] read preference pairs as [TextPair]
// values from JSON Lines files (plain or gzip) in three formats:
//
//   - [FormatTRL]: {"prompt", "chosen", "rejected"}, each a string, or each a
//     list of {"role", "content"} messages rendered with [RenderMessages].
//   - [FormatHH]: Anthropic HH {"chosen", "rejected"} full transcripts; the
//     prompt is the shared text up to and including the last "\n\nAssistant:".
//   - [FormatTLDR]: the TL;DR comparisons format {"info", "summaries",
//     "choice"}; the prompt is built by [TLDRPrompt].
//
// Every bad record is a [*RecordError] naming file:line and the field. By
// default a load stops at the first one; with [ReadOptions.Lenient] bad
// records are skipped and counted in a [LoadReport]. [ByteTokenizer] turns
// text into byte-level token ids with the same special tokens.
package datasets
