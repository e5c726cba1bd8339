// I-AutoRec training on libtorch: batches of items, each a dense vector of its ratings over the
// users (the users are the input dimension), loss on the observed entries only.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "reckon/core/error.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/core/random.hpp"
#include "torch_support.hpp"
#include "trainers.hpp"

namespace reckon::neural {
namespace {

struct Weights {
  torch::Tensor v, mu, w, b;  // users x hidden, hidden, hidden x users, users
  std::vector<torch::Tensor> all() const { return {v, mu, w, b}; }
};

// Every item's code sigmoid(V r_i + mu) from the item-major ratings: items x hidden.
torch::Tensor codes(const Weights& w, const CsrMatrix& by_item, index_t batch) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  std::vector<index_t> items;
  for (index_t start = 0; start < by_item.rows(); start += batch) {
    items.clear();
    for (index_t i = start; i < std::min(by_item.rows(), start + batch); ++i) items.push_back(i);
    parts.push_back(torch::sigmoid(torch::addmm(w.mu, dense_rows(by_item, items).first, w.v)));
  }
  return torch::cat(parts, 0);
}

double rmse(const Weights& w, const CsrMatrix& fit_by_item, const CsrMatrix& valid,
            index_t batch) {
  torch::NoGradGuard no_grad;
  const torch::Tensor h = codes(w, fit_by_item, batch).contiguous();
  const torch::Tensor wt = w.w.t().contiguous();  // users x hidden
  const auto hidden = h.size(1);
  const float* hp = h.data_ptr<float>();
  const float* wp = wt.data_ptr<float>();
  const float* bp = w.b.data_ptr<float>();
  double sq = 0;
  for (index_t u = 0; u < valid.rows(); ++u) {
    const auto idx = valid.row_indices(u);
    const auto val = valid.row_values(u);
    for (std::size_t k = 0; k < idx.size(); ++k) {
      double p = bp[u];
      for (std::int64_t j = 0; j < hidden; ++j) p += hp[idx[k] * hidden + j] * wp[u * hidden + j];
      sq += (p - val[k]) * (p - val[k]);
    }
  }
  return std::sqrt(sq / static_cast<double>(valid.nnz()));
}

}  // namespace

TrainedItemCodes train_autorec(const CsrMatrix& full, const CsrMatrix& fit, const CsrMatrix& valid,
                             const AutoRecOptions& o, FitContext& ctx) {
  const CsrMatrix by_item = fit.transposed();  // items x users
  const index_t users = fit.rows();
  configure_torch(ctx, o.batch_size * users);
  std::vector<index_t> items;
  for (index_t i = 0; i < by_item.rows(); ++i)
    if (!by_item.row_indices(i).empty()) items.push_back(i);
  RECKON_CHECK(!items.empty(), "autorec: no item has training ratings");

  Weights w{xavier_weight(users, o.hidden), small_bias(o.hidden), xavier_weight(o.hidden, users),
            small_bias(users)};
  torch::optim::Adam adam(w.all(), torch::optim::AdamOptions(o.learning_rate));
  const bool validate = valid.nnz() > 0;
  Rng rng(ctx.seed);
  TrainedItemCodes out;
  TrainingRun& run = out.run;
  run.best_validation = std::numeric_limits<double>::quiet_NaN();
  BestEpoch best;
  const auto t0 = std::chrono::steady_clock::now();
  Progress progress("fit autorec", static_cast<double>(o.epochs) * static_cast<double>(items.size()),
                    "items");
  double done = 0;
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    rng.shuffle(std::span<index_t>(items));
    double loss_sum = 0;
    for (std::size_t start = 0; start < items.size(); start += static_cast<std::size_t>(o.batch_size)) {
      const auto part = std::span<const index_t>(items).subspan(
          start, std::min(items.size() - start, static_cast<std::size_t>(o.batch_size)));
      const auto [x, m] = dense_rows(by_item, part);
      const torch::Tensor h = torch::sigmoid(torch::addmm(w.mu, x, w.v));
      const torch::Tensor r = torch::addmm(w.b, h, w.w);
      // The regulariser once per pass over the items: each batch carries its share.
      const double share = static_cast<double>(part.size()) / static_cast<double>(items.size());
      const torch::Tensor loss = ((r - x) * m).pow(2).sum() +
                                 (o.lambda / 2 * share) * (w.v.pow(2).sum() + w.w.pow(2).sum());
      adam.zero_grad();
      loss.backward();
      adam.step();
      loss_sum += loss.item<double>();
      done += static_cast<double>(part.size());
      progress.update(done);
    }
    run.epochs_run = epoch;
    RECKON_CHECK(std::isfinite(loss_sum),
                 "autorec: the loss became {} in epoch {} (try a smaller learning_rate)", loss_sum,
                 epoch);
    const double train_rmse = std::sqrt(loss_sum / static_cast<double>(fit.nnz()));
    if (!validate) {
      run.best_epoch = epoch;
      progress.set_note(fmt::format("epoch {}/{}, loss {:.4g}", epoch, o.epochs, train_rmse));
      continue;
    }
    const double v = rmse(w, by_item, valid, std::max<index_t>(o.batch_size, 256));
    best.offer(v, false, epoch, w.all(), run);
    progress.set_note(fmt::format(
        "epoch {}/{}, loss {:.4g}, validation RMSE {:.4f} (best {:.4f}, epoch {})", epoch,
        o.epochs, train_rmse, v, run.best_validation, run.best_epoch));
    if (o.patience > 0 && epoch - run.best_epoch >= o.patience) break;
  }
  progress.finish();
  run.seconds_per_epoch = seconds_per_epoch(t0, run.epochs_run);
  best.restore(w.all());
  if (ctx.verbose)
    spdlog::info("autorec: {} epochs ({:.2f} s each), best epoch {}{}", run.epochs_run,
                 run.seconds_per_epoch, run.best_epoch,
                 validate ? fmt::format(" (validation RMSE {:.4f})", run.best_validation) : "");

  // The codes from every training rating (the held-out ones included).
  const torch::Tensor h = codes(w, full.transposed(), 256).contiguous();
  out.item_codes.assign(h.data_ptr<float>(), h.data_ptr<float>() + h.numel());
  return out;
}

}  // namespace reckon::neural
