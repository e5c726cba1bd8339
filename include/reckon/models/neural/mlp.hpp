#pragma once
// The trained network of an autoencoder, as plain arrays: what scoring, saving and loading need,
// without libtorch (training is the only part of a neural model that runs on torch; a model file
// loads and serves in a build without it, and its loader is fuzzed like the others).
#include <cstdint>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <vector>

#include "reckon/core/binary_io.hpp"
#include "reckon/core/types.hpp"

namespace reckon::neural {

enum class Activation : std::uint8_t { kIdentity = 0, kTanh = 1, kSigmoid = 2, kRelu = 3 };

// y = act(x W + b): `weight` is in x out, row-major (a row per input, so that a sparse input
// sums rows), `bias` has `out` entries.
struct DenseLayer {
  index_t in = 0, out = 0;
  Activation activation = Activation::kIdentity;
  std::vector<float> weight;
  std::vector<float> bias;
};

// How a network's training went, kept in its model file for `reckon info`.
struct TrainingRun {
  std::int32_t epochs_run = 0, best_epoch = 0;
  std::int64_t validation_k = 0;
  double best_validation = 0;  // the early-stopping metric (ndcg@validation_k; NaN: none)
  double seconds_per_epoch = 0;
};

class Mlp;

// A history as an autoencoder's sparse input: each distinct item in [0, items) once, in item
// order, with its last given weight (`missing` where no weights are given or one is not finite).
// Items out of range are skipped.
void history_input(std::span<const col_t> history, std::span<const float> weights,
                   float missing, index_t items, std::vector<index_t>& index,
                   std::vector<float>& value);
// The k items most like `item` by the cosine of their output embeddings (the columns of the
// last layer of `decoder`, an autoencoder's items x ... network): the autoencoders' similar
// items. Throws InvalidInput for an item out of range.
std::vector<ScoredItem> similar_outputs(const Mlp& decoder, index_t item, std::size_t k);
// The k rows of `matrix` (rows x cols, row-major: an item's embedding a row) most like row
// `item` by cosine, best first, without `item`. Throws InvalidInput for an item out of range.
std::vector<ScoredItem> similar_rows(std::span<const float> matrix, index_t rows, index_t cols,
                                     index_t item, std::size_t k);

// Scores of a batch of users by a user autoencoder: each user's sparse input (`input(r, index,
// value)` fills row r's) through `encoder` one by one, then `decoder` as matrix products over
// the batch, so its last layer (hidden x items) is read once per batch, not once per user.
// `out` has users x decoder.outputs() entries.
void encode_decode_batch(
    const Mlp& encoder, const Mlp& decoder, index_t users,
    const std::function<void(index_t, std::vector<index_t>&, std::vector<float>&)>& input,
    std::span<float> out);

// What `reckon info` shows of an autoencoder: its layers ("in x out") and how training went,
// the best validation score under `metric` when there was one.
nlohmann::json describe_network(const Mlp& encoder, const Mlp& decoder, const TrainingRun& run,
                                const std::string& metric);
// How a run went (epochs, best epoch, seconds per epoch, the best validation score under
// `metric` when there was one), as `reckon info` shows it for every neural model.
nlohmann::json describe_run(const TrainingRun& run, const std::string& metric);

class Mlp {
 public:
  Mlp() = default;
  explicit Mlp(std::vector<DenseLayer> layers);

  index_t inputs() const { return layers_.empty() ? 0 : layers_.front().in; }
  index_t outputs() const { return layers_.empty() ? 0 : layers_.back().out; }
  const std::vector<DenseLayer>& layers() const { return layers_; }

  // One input given sparsely: entries `index` (each in [0, inputs())) with `value`; `out` has
  // outputs() entries.
  void forward_sparse(std::span<const index_t> index, std::span<const float> value,
                      std::span<float> out) const;
  // A batch of dense inputs (rows x inputs(), row-major) into rows x outputs().
  void forward_dense(std::span<const float> in, index_t rows, std::span<float> out) const;

  void save(BinaryWriter& w) const;
  // Checks every size, that each layer's input is the previous one's output, the activations,
  // and that every weight is finite (a crafted file cannot make the scores NaN).
  static Mlp load(BinaryReader& r);

 private:
  std::vector<DenseLayer> layers_;
};

}  // namespace reckon::neural
