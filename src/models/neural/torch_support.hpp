#pragma once
// What the torch translation units share: the thread budget and seed applied to libtorch, and
// trained tensors turned into the plain layers of neural/mlp.hpp. Included only by *_train.cpp.
#include <torch/torch.h>

#include <chrono>
#include <functional>
#include <vector>

#include "reckon/core/csr_matrix.hpp"
#include "reckon/models/model.hpp"
#include "reckon/models/neural/mlp.hpp"

namespace reckon {
class Progress;
}

namespace reckon::neural {

// libtorch gets the process's thread budget and the fit's seed. `largest_tensor`: the entries of
// the biggest activation of one batch (batch x catalogue, say), which decides who gets the
// threads: below kParallelTensor, OpenBLAS's products get them and torch's own (OpenMP)
// element-wise loops run on one.
void configure_torch(const FitContext& ctx, std::int64_t largest_tensor);

// Debian's libtorch calls OpenBLAS, whose pthread pool is not OpenMP's: after each of torch's
// parallel loops libgomp's workers spin and take the cores OpenBLAS's threads need. On 2 cores
// that made small nets 2-2.7x slower than one thread (ML-100K, 2 threads: dae 40.9 s against
// 14.7 s, autorec 24.3 against 11.5, multvae 13.0 against 7.1), while Gowalla's multvae
// (500 x 40,981 per batch) gains from both (49.8 s an epoch against 57.5). BENCHMARKS.md.
inline constexpr std::int64_t kParallelTensor = std::int64_t{8} << 20;

// A weight (in x out) and bias (out) tensor as a layer.
DenseLayer to_layer(const torch::Tensor& weight, const torch::Tensor& bias,
                    Activation activation);

// A tensor's values as floats (a trained weight into a plain network), and the reverse: `src`
// copied into `dst` (same number of values; a plain network's weights into a training one).
std::vector<float> values_of(const torch::Tensor& t);
void copy_into(const torch::Tensor& dst, const std::vector<float>& src);

// A copy of `v` as a 1-d int64 tensor (indexes for embedding, index_select, targets).
torch::Tensor long_tensor(const std::vector<std::int64_t>& v);

// A batch of item sequences, right-aligned in `length` columns (each cut to its newest `length`
// items): item ids (B x length, padding 0) and the mask of real positions (bool). The sequence
// models' batches (the newest item always in the last column).
std::pair<torch::Tensor, torch::Tensor> right_aligned(
    const std::vector<std::vector<index_t>>& seqs, index_t length);

// Xavier-normal weights (in x out) and N(0, 0.001) biases, as the published Mult-VAE code.
torch::Tensor xavier_weight(index_t in, index_t out);
torch::Tensor small_bias(index_t out);

// Rows `rows` of `m` as a dense matrix (rows x m.cols()) and its mask of stored entries.
std::pair<torch::Tensor, torch::Tensor> dense_rows(const CsrMatrix& m, std::span<const index_t> rows);

// Early stopping's memory: the parameters of the best epoch so far, put back after training.
class BestEpoch {
 public:
  // Keeps a copy of `params` when `score` beats run.best_validation (NaN at first: always),
  // noting it and `epoch` in `run`. Returns whether it did.
  bool offer(double score, bool higher_is_better, int epoch,
             const std::vector<torch::Tensor>& params, TrainingRun& run);
  // Puts the kept parameters back (nothing when none was kept).
  void restore(const std::vector<torch::Tensor>& params) const;

 private:
  std::vector<torch::Tensor> kept_;
};

// Early stopping's metric for the user autoencoders: mean ndcg@k over the rows of `test` with
// entries, `scores(users)` giving the network's output (users x items) for a batch of at most
// `batch` of them; the items of the same rows of `seen` are left out of the ranking.
double validation_ndcg(const CsrMatrix& seen, const CsrMatrix& test, index_t k, index_t batch,
                       const std::function<torch::Tensor(std::span<const index_t>)>& scores);

// The end of an epoch of a model that stops on a validation ndcg@k (NaN: no validation): the
// loss must be finite (else InvalidInput naming `model` and the epoch); a scored epoch is
// offered to `best`; the progress note says it all. Returns whether to stop (`patience` epochs
// without a better score; 0: never).
bool finish_epoch(const char* model, int epoch, int epochs, double loss, double validation,
                  index_t k, int patience, const std::vector<torch::Tensor>& params,
                  BestEpoch& best, TrainingRun& run, reckon::Progress& progress);
// After the last epoch: seconds per epoch since `start`, the best epoch's parameters put back,
// and (verbose) a log line.
void finish_training(const char* model, std::chrono::steady_clock::time_point start,
                     const std::vector<torch::Tensor>& params, const BestEpoch& best,
                     TrainingRun& run, reckon::Progress& progress, bool verbose);

// Seconds per epoch since `start`, for TrainingRun.
double seconds_per_epoch(std::chrono::steady_clock::time_point start, int epochs);

// act(x) for the activations of mlp.hpp.
torch::Tensor apply(Activation activation, const torch::Tensor& x);

}  // namespace reckon::neural
