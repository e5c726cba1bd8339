// GLocal-K training on libtorch (Han et al., "GLocal-K: Global and Local Kernels for
// Recommender Systems", CIKM 2021), following the published code: item-based (each item's
// ratings over the users is one input), kernel layers whose weights are multiplied elementwise
// by a local kernel max(0, 1 - |u_i - v_j|^2) of learned embeddings, full-batch L-BFGS with a
// few iterations per epoch; pre-training on the rating matrix, then fine-tuning on the matrix
// convolved with a global kernel made from the items' mean predicted ratings.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <memory>

#include "reckon/core/error.hpp"
#include "reckon/core/progress.hpp"
#include "torch_support.hpp"
#include "trainers.hpp"

namespace reckon::neural {
namespace {

struct KernelLayer {
  torch::Tensor w, u, v, b;  // in x out, in x d, out x d, out
  bool sigmoid;
};

struct Net {
  std::vector<KernelLayer> layers;  // hidden layers, then the output layer
  torch::Tensor conv;               // items x global_kernel^2

  std::vector<torch::Tensor> local_parameters() const {
    std::vector<torch::Tensor> p;
    for (const auto& l : layers) p.insert(p.end(), {l.w, l.u, l.v, l.b});
    return p;
  }
  std::vector<torch::Tensor> all_parameters() const {
    auto p = local_parameters();
    p.push_back(conv);
    return p;
  }
};

torch::Tensor truncated_normal(std::vector<std::int64_t> shape, double std) {
  return (torch::randn(shape).clamp(-2, 2) * std).requires_grad_(true);
}

KernelLayer make_layer(index_t in, index_t out, index_t d, bool sigmoid) {
  const double bound = std::sqrt(6.0 / static_cast<double>(in + out));  // Glorot uniform
  return {(torch::rand({in, out}) * 2 * bound - bound).requires_grad_(true),
          truncated_normal({in, d}, 1e-3), truncated_normal({out, d}, 1e-3),
          torch::zeros({out}).requires_grad_(true), sigmoid};
}

torch::Tensor local_kernel(const KernelLayer& l) {
  const torch::Tensor dist2 = (l.u.unsqueeze(1) - l.v.unsqueeze(0)).pow(2).sum(2);
  return torch::clamp_min(1 - dist2, 0);
}

// The local kernel net's output for `x` (items x users), its last hidden layer (the codes) in
// `codes` when given, and its regulariser.
torch::Tensor forward(const Net& net, torch::Tensor x, const GLocalKOptions& o, torch::Tensor* reg,
                      torch::Tensor* codes = nullptr) {
  torch::Tensor r = torch::zeros({});
  for (std::size_t k = 0; k < net.layers.size(); ++k) {
    const KernelLayer& l = net.layers[k];
    const torch::Tensor kernel = local_kernel(l);
    x = torch::addmm(l.b, x, l.w * kernel);
    if (l.sigmoid) x = torch::sigmoid(x);
    if (codes != nullptr && k + 2 == net.layers.size()) *codes = x;
    r = r + o.lambda_2 / 2 * l.w.pow(2).sum() + o.lambda_s / 2 * kernel.pow(2).sum();
  }
  if (reg != nullptr) *reg = r;
  return x;
}

// The rating matrix convolved with the global kernel: the items' mean predicted ratings
// (from the local net on `ratings`) times the conv parameters give a k x k kernel.
torch::Tensor globally_convolved(const Net& net, const torch::Tensor& ratings,
                                 const GLocalKOptions& o) {
  const torch::Tensor pooled = forward(net, ratings, o, nullptr).mean(1).unsqueeze(0);  // 1 x items
  const auto k = static_cast<std::int64_t>(o.global_kernel);
  const torch::Tensor kernel = (pooled.mm(net.conv) * o.dot_scale).view({1, 1, k, k});
  return torch::relu(torch::conv2d(ratings.unsqueeze(0).unsqueeze(0), kernel, {}, 1, k / 2))
      .squeeze(0)
      .squeeze(0);
}

double rmse(const torch::Tensor& pred, const std::vector<std::int64_t>& flat,
            const torch::Tensor& truth, const GLocalKOptions& o) {
  torch::NoGradGuard no_grad;
  const torch::Tensor idx = torch::from_blob(const_cast<std::int64_t*>(flat.data()),
                                             {static_cast<std::int64_t>(flat.size())}, torch::kLong);
  const torch::Tensor p = pred.reshape(-1).index_select(0, idx).clamp(o.lowest, o.highest);
  return std::sqrt((p - truth).pow(2).mean().item<double>());
}

}  // namespace

TrainedItemCodes train_glocalk(const CsrMatrix& full, const CsrMatrix& fit, const CsrMatrix& valid,
                               const GLocalKOptions& o, FitContext& ctx) {
  const index_t items = fit.cols(), users = fit.rows();
  configure_torch(ctx, items * std::max(users, o.hidden));  // one batch: every item
  std::vector<index_t> all(static_cast<std::size_t>(items));
  for (index_t i = 0; i < items; ++i) all[static_cast<std::size_t>(i)] = i;
  const auto [r, m] = dense_rows(fit.transposed(), all);  // items x users
  // Validation entries as flat positions item * users + user.
  std::vector<std::int64_t> flat;
  std::vector<float> truth;
  for (index_t u = 0; u < valid.rows(); ++u) {
    const auto idx = valid.row_indices(u);
    const auto val = valid.row_values(u);
    for (std::size_t k = 0; k < idx.size(); ++k) {
      flat.push_back(idx[k] * users + u);
      truth.push_back(val[k]);
    }
  }
  const bool validate = !flat.empty();
  const torch::Tensor truth_t =
      torch::from_blob(truth.data(), {static_cast<std::int64_t>(truth.size())}).clone();

  Net net;
  index_t in = users;
  for (int k = 0; k < o.layers; ++k, in = o.hidden)
    net.layers.push_back(make_layer(in, o.hidden, o.kernel_dim, true));
  net.layers.push_back(make_layer(in, users, o.kernel_dim, false));
  net.conv = truncated_normal({items, o.global_kernel * o.global_kernel}, 0.1);

  TrainedItemCodes out;
  TrainingRun& run = out.run;
  run.best_validation = std::numeric_limits<double>::quiet_NaN();
  BestEpoch best;
  bool best_global = true;  // whether the best epoch had the global kernel
  const auto keep = [&](double v, bool global) {
    if (best.offer(v, false, run.epochs_run, net.all_parameters(), run)) best_global = global;
  };
  const auto t0 = std::chrono::steady_clock::now();
  Progress progress("fit glocalk", static_cast<double>(o.pretrain_epochs + o.finetune_epochs),
                    "epochs");
  // An epoch is `iterations` L-BFGS steps. With `restart` each epoch starts from an empty
  // history, as the published code's epochs are separate scipy L-BFGS-B runs: its first step is
  // a short gradient step, so training is slower and overfits later (ML-100K u1: fine-tuning
  // then improves on pre-training, test RMSE 0.9043 -> 0.9012; but ML-1M at 5 iterations an
  // epoch is far from converged after 50 epochs, 0.9009 against 0.8368: docs/BENCHMARKS.md).
  // One history throughout is the default.
  const auto lbfgs = [&](const std::vector<torch::Tensor>& params) {
    return std::make_unique<torch::optim::LBFGS>(
        params, torch::optim::LBFGSOptions(1).max_iter(o.iterations).line_search_fn("strong_wolfe"));
  };
  const auto check = [&](const torch::Tensor& loss, int epoch) {
    const double v = loss.item<double>();
    RECKON_CHECK(std::isfinite(v), "glocalk: the loss became {} in epoch {}", v, epoch);
    return v;
  };

  // Pre-training: the local kernel net on the ratings.
  {
    auto opt = lbfgs(net.local_parameters());
    for (int epoch = 1; epoch <= o.pretrain_epochs; ++epoch) {
      if (o.restart && epoch > 1) opt = lbfgs(net.local_parameters());
      const torch::Tensor loss = opt->step([&] {
        opt->zero_grad();
        torch::Tensor reg;
        const torch::Tensor pred = forward(net, r, o, &reg);
        torch::Tensor l = 0.5 * (m * (r - pred)).pow(2).sum() + reg;
        l.backward();
        return l;
      });
      const double lv = check(loss, epoch);
      run.epochs_run = epoch;
      std::string note = fmt::format("pre-training {}/{}, loss {:.5g}", epoch, o.pretrain_epochs, lv);
      if (validate) {
        torch::NoGradGuard no_grad;
        const double v = rmse(forward(net, r, o, nullptr), flat, truth_t, o);
        keep(v, false);
        note += fmt::format(", validation RMSE {:.4f} (best {:.4f}, epoch {})", v,
                            run.best_validation, run.best_epoch);
      }
      progress.set_note(note);
      progress.update(epoch);
    }
  }
  // Fine-tuning with the global kernel, stopped on the validation RMSE (which may find that the
  // pre-trained net, without the global kernel, stays the best).
  {
    auto opt = lbfgs(net.all_parameters());
    for (int epoch = 1; epoch <= o.finetune_epochs; ++epoch) {
      if (o.restart && epoch > 1) opt = lbfgs(net.all_parameters());
      const torch::Tensor loss = opt->step([&] {
        opt->zero_grad();
        torch::Tensor reg;
        const torch::Tensor pred = forward(net, globally_convolved(net, r, o), o, &reg);
        torch::Tensor l = 0.5 * (m * (r - pred)).pow(2).sum() + reg;
        l.backward();
        return l;
      });
      const double lv = check(loss, o.pretrain_epochs + epoch);
      run.epochs_run = o.pretrain_epochs + epoch;
      progress.update(o.pretrain_epochs + epoch);
      if (!validate) {
        run.best_epoch = run.epochs_run;
        progress.set_note(fmt::format("fine-tuning {}/{}, loss {:.5g}", epoch, o.finetune_epochs, lv));
        continue;
      }
      torch::NoGradGuard no_grad;
      const double v = rmse(forward(net, globally_convolved(net, r, o), o, nullptr), flat, truth_t, o);
      keep(v, true);
      progress.set_note(fmt::format(
          "fine-tuning {}/{}, loss {:.5g}, validation RMSE {:.4f} (best {:.4f}, epoch {})", epoch,
          o.finetune_epochs, lv, v, run.best_validation, run.best_epoch));
      // Fine-tuning gets `patience` epochs of its own even when pre-training holds the best.
      if (o.patience > 0 &&
          run.epochs_run - std::max(run.best_epoch, o.pretrain_epochs) >= o.patience)
        break;
    }
  }
  progress.finish();
  run.seconds_per_epoch = seconds_per_epoch(t0, run.epochs_run);
  best.restore(net.all_parameters());
  torch::NoGradGuard no_grad;
  if (ctx.verbose)
    spdlog::info("glocalk: {} epochs ({:.2f} s each), best epoch {}{}{}", run.epochs_run,
                 run.seconds_per_epoch, run.best_epoch,
                 best_global ? "" : " (pre-trained, without the global kernel)",
                 validate ? fmt::format(" (validation RMSE {:.4f})", run.best_validation) : "");

  // The codes of every item from all the training ratings (the held-out ones included).
  const torch::Tensor ratings = dense_rows(full.transposed(), all).first;
  torch::Tensor codes;
  forward(net, best_global ? globally_convolved(net, ratings, o) : ratings, o, nullptr, &codes);
  codes = codes.contiguous();
  out.item_codes.assign(codes.data_ptr<float>(), codes.data_ptr<float>() + codes.numel());
  return out;
}

}  // namespace reckon::neural
