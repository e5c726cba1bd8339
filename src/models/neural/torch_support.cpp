#include "torch_support.hpp"

#include <spdlog/spdlog.h>

#include <malloc.h>

#include <cmath>
#include <limits>
#include <mutex>

#include "reckon/core/error.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/core/threads.hpp"
#include "reckon/eval/metrics.hpp"

namespace reckon::neural {

void configure_torch(const FitContext& ctx, std::int64_t largest_tensor) {
  // The inter-op pool can be sized only once, before its first use; reckon never uses it, so
  // one thread, so that `--threads N` means N.
  static std::once_flag once;
  std::call_once(once, [] {
    // A training step allocates the same large tensors again and again (a batch's logits over
    // the catalogue: tens of MB). glibc serves those with mmap and gives them back at free, so
    // every step page-faults them in anew (a third of sasrec's time on ML-100K was system time):
    // keep them in the heap, and the heap's top, for the process's life (it trains and exits,
    // or serves after training in `reckon demo`, where the memory is reused).
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
    try {
      at::set_num_interop_threads(1);
    } catch (const std::exception&) {
    }
  });
  // OpenBLAS keeps the budget set_thread_budget gave it; torch's loops share it only for big
  // tensors (kParallelTensor).
  static std::once_flag warned;
  if (ctx.verbose)
    std::call_once(warned, [] {
      if (const auto note = slow_blas_kernels()) spdlog::warn("{}", *note);
    });
  const int n = std::max(1, ctx.threads > 0 ? ctx.threads : thread_budget());
  torch::set_num_threads(largest_tensor >= kParallelTensor ? n : 1);
  torch::manual_seed(ctx.seed);
}

DenseLayer to_layer(const torch::Tensor& weight, const torch::Tensor& bias,
                    Activation activation) {
  const torch::Tensor w = weight.detach().to(torch::kFloat32).contiguous();
  const torch::Tensor b = bias.detach().to(torch::kFloat32).contiguous();
  DenseLayer l;
  l.in = w.size(0);
  l.out = w.size(1);
  l.activation = activation;
  l.weight.assign(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
  l.bias.assign(b.data_ptr<float>(), b.data_ptr<float>() + b.numel());
  return l;
}

std::vector<float> values_of(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kFloat32).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

void copy_into(const torch::Tensor& dst, const std::vector<float>& src) {
  RECKON_ASSERT(static_cast<std::size_t>(dst.numel()) == src.size());
  torch::NoGradGuard no_grad;
  dst.view(-1).copy_(torch::from_blob(const_cast<float*>(src.data()),
                                      {static_cast<std::int64_t>(src.size())}));
}

torch::Tensor long_tensor(const std::vector<std::int64_t>& v) {
  return torch::from_blob(const_cast<std::int64_t*>(v.data()),
                          {static_cast<std::int64_t>(v.size())}, torch::kLong)
      .clone();
}

std::pair<torch::Tensor, torch::Tensor> right_aligned(
    const std::vector<std::vector<index_t>>& seqs, index_t length) {
  const auto l = static_cast<std::size_t>(length);
  std::vector<std::int64_t> ids(seqs.size() * l, 0), real(ids.size(), 0);
  for (std::size_t r = 0; r < seqs.size(); ++r) {
    const std::size_t n = std::min(seqs[r].size(), l);
    const auto first = seqs[r].end() - static_cast<std::ptrdiff_t>(n);
    for (std::size_t j = 0; j < n; ++j) {
      const std::size_t at = r * l + (l - n) + j;
      ids[at] = first[static_cast<std::ptrdiff_t>(j)], real[at] = 1;
    }
  }
  const std::vector<std::int64_t> shape = {static_cast<std::int64_t>(seqs.size()), length};
  return {long_tensor(ids).view(shape), long_tensor(real).view(shape).to(torch::kBool)};
}

torch::Tensor xavier_weight(index_t in, index_t out) {
  const double std = std::sqrt(2.0 / static_cast<double>(in + out));
  return (torch::randn({in, out}) * std).requires_grad_(true);
}

torch::Tensor small_bias(index_t out) {
  return (torch::randn({out}) * 0.001).requires_grad_(true);
}

std::pair<torch::Tensor, torch::Tensor> dense_rows(const CsrMatrix& m, std::span<const index_t> rows) {
  const index_t cols = m.cols();
  torch::Tensor x = torch::zeros({static_cast<std::int64_t>(rows.size()), cols});
  torch::Tensor mask = torch::zeros_like(x);
  float* xp = x.data_ptr<float>();
  float* mp = mask.data_ptr<float>();
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const auto idx = m.row_indices(rows[r]);
    const auto val = m.row_values(rows[r]);
    for (std::size_t k = 0; k < idx.size(); ++k) {
      xp[static_cast<index_t>(r) * cols + idx[k]] = val[k];
      mp[static_cast<index_t>(r) * cols + idx[k]] = 1.0f;
    }
  }
  return {x, mask};
}

bool BestEpoch::offer(double score, bool higher_is_better, int epoch,
                      const std::vector<torch::Tensor>& params, TrainingRun& run) {
  const double best = run.best_validation;
  if (!std::isnan(best) && (higher_is_better ? score <= best : score >= best)) return false;
  run.best_validation = score;
  run.best_epoch = epoch;
  kept_.clear();
  for (const auto& p : params) kept_.push_back(p.detach().clone());
  return true;
}

void BestEpoch::restore(const std::vector<torch::Tensor>& params) const {
  if (kept_.empty()) return;
  torch::NoGradGuard no_grad;
  for (std::size_t k = 0; k < params.size(); ++k) params[k].copy_(kept_[k]);
}

double validation_ndcg(const CsrMatrix& seen, const CsrMatrix& test, index_t k, index_t batch,
                       const std::function<torch::Tensor(std::span<const index_t>)>& scores) {
  torch::NoGradGuard no_grad;
  std::vector<index_t> users;
  for (index_t u = 0; u < test.rows(); ++u)
    if (!test.row_indices(u).empty()) users.push_back(u);
  if (users.empty()) return std::numeric_limits<double>::quiet_NaN();
  const index_t items = test.cols();
  k = std::min(k, items);
  double sum = 0;
  std::vector<std::int64_t> flat;
  std::vector<index_t> ranked(static_cast<std::size_t>(k));
  for (std::size_t start = 0; start < users.size(); start += static_cast<std::size_t>(batch)) {
    const auto part = std::span<const index_t>(users).subspan(
        start, std::min(users.size() - start, static_cast<std::size_t>(batch)));
    torch::Tensor s = scores(part).contiguous();
    flat.clear();
    for (std::size_t r = 0; r < part.size(); ++r)
      for (index_t i : seen.row_indices(part[r]))
        flat.push_back(static_cast<std::int64_t>(r) * items + i);
    if (!flat.empty())
      s.view(-1).index_fill_(
          0, torch::from_blob(flat.data(), {static_cast<std::int64_t>(flat.size())}, torch::kLong),
          -std::numeric_limits<float>::infinity());
    const torch::Tensor top = std::get<1>(s.topk(k, 1)).contiguous();
    const auto* t = top.data_ptr<std::int64_t>();
    for (std::size_t r = 0; r < part.size(); ++r) {
      for (index_t j = 0; j < k; ++j) ranked[static_cast<std::size_t>(j)] = t[static_cast<index_t>(r) * k + j];
      sum += ndcg_at(ranked, Relevant{test.row_indices(part[r]), {}}, static_cast<std::size_t>(k));
    }
  }
  return sum / static_cast<double>(users.size());
}

bool finish_epoch(const char* model, int epoch, int epochs, double loss, double validation,
                  index_t k, int patience, const std::vector<torch::Tensor>& params,
                  BestEpoch& best, TrainingRun& run, Progress& progress) {
  run.epochs_run = epoch;
  RECKON_CHECK(std::isfinite(loss),
               "{}: the loss became {} in epoch {} (try a smaller learning_rate)", model, loss,
               epoch);
  if (std::isnan(validation)) {
    run.best_epoch = epoch;
    progress.set_note(fmt::format("epoch {}/{}, loss {:.4g}", epoch, epochs, loss));
    return false;
  }
  best.offer(validation, true, epoch, params, run);
  progress.set_note(fmt::format(
      "epoch {}/{}, loss {:.4g}, validation ndcg@{} {:.4f} (best {:.4f}, epoch {})", epoch, epochs,
      loss, k, validation, run.best_validation, run.best_epoch));
  return patience > 0 && epoch - run.best_epoch >= patience;
}

void finish_training(const char* model, std::chrono::steady_clock::time_point start,
                     const std::vector<torch::Tensor>& params, const BestEpoch& best,
                     TrainingRun& run, Progress& progress, bool verbose) {
  progress.finish();
  run.seconds_per_epoch = seconds_per_epoch(start, run.epochs_run);
  best.restore(params);
  if (verbose)
    spdlog::info("{}: {} epochs ({:.2f} s each), best epoch {}{}", model, run.epochs_run,
                 run.seconds_per_epoch, run.best_epoch,
                 std::isfinite(run.best_validation)
                     ? fmt::format(" (validation ndcg@{} {:.4f})", run.validation_k,
                                   run.best_validation)
                     : "");
}

double seconds_per_epoch(std::chrono::steady_clock::time_point start, int epochs) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
         std::max(1, epochs);
}

torch::Tensor apply(Activation activation, const torch::Tensor& x) {
  switch (activation) {
    case Activation::kIdentity: return x;
    case Activation::kTanh: return torch::tanh(x);
    case Activation::kSigmoid: return torch::sigmoid(x);
    case Activation::kRelu: return torch::relu(x);
  }
  return x;
}

}  // namespace reckon::neural
