#pragma once
// GRU4Rec's network as plain arrays: a one-layer GRU reads a sequence of items (an input
// embedding each) and its last state scores every item as the next one (an output embedding and
// bias per item). Scoring, saving and loading need no torch; training (gru4rec_train.cpp) runs
// the same arithmetic on tensors, and its loader checks every size and weight (fuzz_rkm).
//
// The cell, PyTorch's convention, with x = E_in[item] and gates ordered reset | update | new:
//   r = sigmoid(x W_i[r] + b_i[r] + h W_h[r] + b_h[r])
//   z = sigmoid(x W_i[z] + b_i[z] + h W_h[z] + b_h[z])
//   n = tanh(x W_i[n] + b_i[n] + r * (h W_h[n] + b_h[n]))
//   h' = (1 - z) * n + z * h                     from h = 0
// and the score of item j after the sequence: E_out[j] . h + b_out[j].
#include <span>
#include <vector>

#include "reckon/core/binary_io.hpp"
#include "reckon/core/types.hpp"

namespace reckon::neural {

struct GruNetwork {
  index_t items = 0, dim = 0, hidden = 0, max_len = 0;
  std::vector<float> input_embedding;   // items x dim
  std::vector<float> input_weight;      // dim x 3 hidden (row-major, y = x W)
  std::vector<float> hidden_weight;     // hidden x 3 hidden
  std::vector<float> input_bias, hidden_bias;  // 3 hidden each
  std::vector<float> output_embedding;  // items x hidden
  std::vector<float> output_bias;       // items

  // The state after reading `sequence` (items in [0, items), oldest first; only the newest
  // max_len are read) into `out` (hidden floats); zeros for an empty one.
  void encode(std::span<const index_t> sequence, std::span<float> out) const;
  // Scores of every item (items floats) as the next one after `sequence`.
  void score(std::span<const index_t> sequence, std::span<float> out) const;

  void check_shapes() const;  // asserts (a trainer's output)
  void save(BinaryWriter& w) const;
  // Checks the shape's bounds, every array's size and that every weight is finite.
  static GruNetwork load(BinaryReader& r);
};

}  // namespace reckon::neural
