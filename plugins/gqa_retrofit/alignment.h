// Aligning the KV heads of a group before they are merged (Jin et al., "Align Attention Heads
// Before Merging Them", 2025): each head is turned by an orthogonal matrix, found by
// Procrustes on calibration activations, that brings it as close as it can come to the
// group's first head. The turn leaves the model's function as it was: values by R on W_V and
// R's transpose folded into W_O; keys by one 2x2 rotation per RoPE pair on both W_K and W_Q,
// which commutes with RoPE. Only then are the heads averaged.
#pragma once

#include <cstdint>
#include <vector>

namespace gqa_retrofit {

// One layer's tensors, row-major with a row per output feature (as GGUF stores them).
struct LayerWeights {
  std::vector<float> wq, wk, wv, wo;  // wo: dim rows of query_heads * head_dim
  std::vector<float> bq, bk, bv;      // empty when the model has no biases
};

struct LayerShape {
  int32_t dim = 0, query_heads = 0, kv_heads = 0, head_dim = 0;
  int32_t rope_dims = 0;
  bool rope_neox = false;
};

// Turns every head of each run of `kv_heads / groups` consecutive KV heads towards the run's
// first, given the layer's attention input `x` (tokens rows of dim floats).
void align_heads(LayerWeights& w, const LayerShape& shape, int32_t groups,
                 const std::vector<float>& x, int64_t tokens);

// The order of the layer's KV heads that puts alike heads side by side, for `groups` groups
// of consecutive heads (QCQA/AsymGQA-style grouping): each group is seeded with the first head
// not yet placed and filled with the heads that come closest to it once turned (the residual
// of the Procrustes turns of keys and values on `x`, relative to the two heads' size).
std::vector<int32_t> similar_order(const LayerWeights& w, const LayerShape& shape, int32_t groups,
                                   const std::vector<float>& x, int64_t tokens);

// Reorders the KV heads as `order` lists them (new head i is old head order[i]), and with each
// its query heads (rows of W_Q, columns of W_O) and biases: the model's function is unchanged.
void permute_heads(LayerWeights& w, const LayerShape& shape, const std::vector<int32_t>& order);

// The orthogonal n x n matrix R nearest to making a R = b in least squares: U V^T for
// m = U S V^T (m = a^T b, n x n, row-major). Exposed for tests.
std::vector<double> nearest_orthogonal(const std::vector<double>& m, int32_t n);

}  // namespace gqa_retrofit
