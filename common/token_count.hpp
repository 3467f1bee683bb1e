#pragma once
// The one rule for a token count a user gives: tokens per GPU (or per DP replica) of one iteration,
// tokens per sequence, tokens in a KV cache, decode sequences per GPU (one token each per step).
// Used by the scenario parameter table (sim/scenario/scenario_params.cpp: /phase/tokens_per_gpu,
// sequence_length, batch_per_gpu, context_length, hence their sweep axes and `simulate` flags) and by
// every --tokens-per-gpu flag (cli/cli_checks.hpp tokens_per_gpu()).
//
// At least one token: the code uses the value as the tokens a GPU or replica originates in one
// iteration (the bytes it dispatches = tokens x top_k x hidden x bytes per element; loads rescaled so
// that every rank sends that many); 1e-9 tokens would describe an exchange of a billionth of one
// token's bytes, which no iteration does. Fractions above one are allowed: every count downstream is an
// average (a replica's tokens split over micro-batches and over its tp GPUs, per-expert loads rescaled
// to expected counts), so 1.5 tokens per GPU is a mean, e.g. 3 tokens of a DP replica over 2 GPUs.
// Internal per-GPU averages (PlanSettings::tokens_per_gpu = a replica's tokens / tp) may be below one;
// this rule is for what users give.
#include <string>

namespace epsim {

/// True when `tokens` is in [limits::kMinTokenCount, limits::kMaxTokenCount] = [1, 1e15] (finite).
bool is_valid_token_count(double tokens);
/// What a valid token count is, for messages: "a number of tokens in [1, 1e+15]".
std::string token_count_expected();

}  // namespace epsim
