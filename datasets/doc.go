// Package datasets holds the preference data of the lab: synthetic generators
// with known oracles, loaders for preference files written by other tools,
// validation, and tokenization. It depends on the standard library only.
//
// # Finite data
//
// A [FiniteData] holds P prompts with R responses each, where every quantity
// of the theory is exact: the reference policy's logits (π_ref = softmax),
// optional features φ(x,y) for log-linear policies, an optional oracle
// reward r*, and the labelled comparisons as [FinitePair] values.
// [FiniteData.Validate] checks shapes, finiteness and indices;
// [FiniteData.Fingerprint] keys the lab's run cache.
//
//   - [SqueezeToy] is the smallest demonstration of DPO's degeneracy: one
//     prompt, responses a=(1,0), b=(1,1), c=(0,1), d=(0,−1), a uniform π_ref
//     and the single pair a ≻ b. A log-linear DPO policy sends π(d) → 1 and
//     π(a) → 0.
//   - [RandomBandit] draws a [BanditConfig]-sized dataset deterministic in its
//     seed: Gaussian π_ref logits, tabular or linear oracle rewards,
//     Bradley–Terry labels with optional label noise, and a Coverage that
//     limits which responses can ever appear in a pair.
//   - [Extrapolation] draws an [ExtrapolationConfig]-sized log-linear bandit on
//     which a reward model fit to the labels is confidently wrong away from
//     the data: r* is a quality feature, the labelled pairs compare responses
//     whose style barely varies, and unseen responses have extreme styles.
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
// Real files load as they come. An empty or blank response is data (an
// annotator may prefer silence): it is accepted and counted in the
// [LoadReport] (EmptyChosen, EmptyRejected), and refused only with
// [ReadOptions.RejectEmptyResponses]. A UTF-8 byte order mark is skipped and
// reported. A line longer than [ReadOptions.MaxLineBytes] is refused as soon
// as the limit is passed. A file without any record is an error ("no
// records"), and with FormatAuto a line whose format differs from the one
// detected is a "format change" error naming both lines and both formats.
//
// Every bad record is a [*RecordError] naming file:line and the field. By
// default a load stops at the first one; with [ReadOptions.Lenient] bad
// records are skipped and counted in a [LoadReport]. [ByteTokenizer] turns
// text into byte-level token ids with the same special tokens.
//
// # Test data
//
// testdata/hh-rlhf holds a real data set, byte-identical to its source: the
// harmless-base test split of Anthropic HH-RLHF (2312 pairs, MIT, with its
// LICENSE and a SOURCE.md note beside it; its dialogues may be offensive, so
// tests report counts only). testdata/invented holds invented fixtures, one
// small file per format written by testdata/invented/gensamples.go from
// invented text.
package datasets
