#pragma once
// SASRec's network as plain arrays: a causal (self-attentive) transformer over a sequence of
// items, as scoring, saving and loading need it without libtorch. Training (sasrec_train.cpp)
// fills the same arrays from its tensors and runs the same arithmetic, so a model file scores
// alike in a build without torch; its loader checks every size and weight (fuzz_rkm).
//
// For a sequence s_1..s_n (n <= max_len), position j holds
//   x_j = sqrt(dim) * E[s_j] + P[max_len - n + j]     (the newest item is always at the last
//                                                       position, as in the published model)
// then each block, pre-normalised:
//   x = x + Attention(LN1(x))    causal: position j attends to positions <= j, `heads` heads
//   x = x + W2 relu(W1 LN2(x) + b1) + b2
// and a final layer norm. The output at the newest position, dotted with E, scores every item
// as the next one.
#include <cstdint>
#include <span>
#include <vector>

#include "reckon/core/binary_io.hpp"
#include "reckon/core/types.hpp"

namespace reckon::neural {

inline constexpr float kLayerNormEpsilon = 1e-6f;

// Weights are in x out, row-major (y = x W + b), as in mlp.hpp.
struct TransformerBlock {
  std::vector<float> norm1_gain, norm1_bias;    // dim
  std::vector<float> qkv_weight, qkv_bias;      // dim x 3 dim (queries | keys | values), 3 dim
  std::vector<float> out_weight, out_bias;      // dim x dim, dim
  std::vector<float> norm2_gain, norm2_bias;    // dim
  std::vector<float> ffn1_weight, ffn1_bias;    // dim x ffn, ffn
  std::vector<float> ffn2_weight, ffn2_bias;    // ffn x dim, dim
};

struct CausalTransformer {
  index_t items = 0, dim = 0, heads = 1, max_len = 0, ffn = 0;
  std::vector<float> item_embedding;      // items x dim: input embeddings and output scores
  std::vector<float> position_embedding;  // max_len x dim
  std::vector<TransformerBlock> blocks;
  std::vector<float> final_gain, final_bias;  // dim

  // The output at the newest position of `sequence` (item indexes in [0, items), oldest first;
  // only the newest max_len are read) into `out` (dim floats). An empty sequence gives zeros.
  void encode(std::span<const index_t> sequence, std::span<float> out) const;
  // Scores of every item (items floats) as the next one after `sequence`: E . encode().
  void score(std::span<const index_t> sequence, std::span<float> out) const;

  // Asserts that every array has the size the shape says (a trainer's output).
  void check_shapes() const;
  void save(BinaryWriter& w) const;
  // Checks the shape's bounds, every array's size and that every weight is finite.
  static CausalTransformer load(BinaryReader& r);
};

}  // namespace reckon::neural
