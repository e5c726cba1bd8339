// The user autoencoder of the movie seed (dae) on libtorch: dense batches of users' scaled
// ratings (with dropout: the denoising) beside their features, through an encoder and a decoder
// whose sigmoid output is fitted to the ratings by squared error or binary cross-entropy, on
// the observed entries or on all of them.
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

struct Layer {
  torch::Tensor w, b;  // in x out, out
  Activation act;
};

std::vector<Layer> stack(const std::vector<index_t>& sizes, Activation hidden, Activation last) {
  std::vector<Layer> out;
  for (std::size_t k = 0; k + 1 < sizes.size(); ++k)
    out.push_back({xavier_weight(sizes[k], sizes[k + 1]), small_bias(sizes[k + 1]),
                   k + 2 == sizes.size() ? last : hidden});
  return out;
}

torch::Tensor forward(const std::vector<Layer>& layers, torch::Tensor x, bool logits_last) {
  for (std::size_t k = 0; k < layers.size(); ++k) {
    const Layer& l = layers[k];
    x = torch::addmm(l.b, x, l.w);
    if (!(logits_last && k + 1 == layers.size())) x = apply(l.act, x);
  }
  return x;
}

// RMSE of the network's output at the entries of `valid`, the rows of `fit` as the input.
double validation_rmse(const CsrMatrix& fit, const CsrMatrix& valid, index_t batch,
                       const std::function<torch::Tensor(std::span<const index_t>)>& predict) {
  torch::NoGradGuard no_grad;
  std::vector<index_t> users;
  for (index_t u = 0; u < valid.rows(); ++u)
    if (!valid.row_indices(u).empty() && !fit.row_indices(u).empty()) users.push_back(u);
  if (users.empty()) return std::numeric_limits<double>::quiet_NaN();
  double sq = 0;
  std::size_t n = 0;
  for (std::size_t start = 0; start < users.size(); start += static_cast<std::size_t>(batch)) {
    const auto part = std::span<const index_t>(users).subspan(
        start, std::min(users.size() - start, static_cast<std::size_t>(batch)));
    const torch::Tensor p = predict(part).contiguous();
    const float* pp = p.data_ptr<float>();
    for (std::size_t r = 0; r < part.size(); ++r) {
      const auto idx = valid.row_indices(part[r]);
      const auto val = valid.row_values(part[r]);
      for (std::size_t k = 0; k < idx.size(); ++k) {
        const double e = pp[static_cast<index_t>(r) * valid.cols() + idx[k]] - val[k];
        sq += e * e;
        ++n;
      }
    }
  }
  return std::sqrt(sq / static_cast<double>(n));
}

}  // namespace

TrainedNetwork train_user_autoencoder(const CsrMatrix& fit, const CsrMatrix& features,
                                      const CsrMatrix& valid, const UserAutoencoderOptions& o,
                                      FitContext& ctx) {
  RECKON_ASSERT(features.rows() == fit.rows() && valid.rows() == fit.rows() &&
                valid.cols() == fit.cols());
  const index_t items = fit.cols(), extra = features.cols();
  configure_torch(ctx, o.batch_size * (items + extra));
  std::vector<index_t> users;
  for (index_t u = 0; u < fit.rows(); ++u)
    if (!fit.row_indices(u).empty()) users.push_back(u);
  RECKON_CHECK(!users.empty(), "{}: no user has training interactions", o.name);
  RECKON_ASSERT(o.sigmoid_output || !o.bce);
  const bool validate = valid.nnz() > 0;

  std::vector<index_t> enc_sizes = {items + extra}, dec_sizes = {o.latent};
  if (o.hidden > 0) enc_sizes.push_back(o.hidden), dec_sizes.push_back(o.hidden);
  enc_sizes.push_back(o.latent);
  dec_sizes.push_back(items);
  const std::vector<Layer> encoder = stack(enc_sizes, o.activation, o.activation);
  const std::vector<Layer> decoder =
      stack(dec_sizes, o.activation, o.sigmoid_output ? Activation::kSigmoid : Activation::kIdentity);
  std::vector<torch::Tensor> params;
  for (const auto* side : {&encoder, &decoder})
    for (const Layer& l : *side) params.insert(params.end(), {l.w, l.b});
  torch::optim::Adam adam(params, torch::optim::AdamOptions(o.learning_rate).weight_decay(o.l2));

  // The input of a batch: ratings (dropped out when training) beside the features.
  const auto input = [&](std::span<const index_t> part, const torch::Tensor& ratings, bool train) {
    torch::Tensor x = train && o.dropout > 0 ? torch::dropout(ratings, o.dropout, true) : ratings;
    if (extra == 0) return x;
    return torch::cat({x, dense_rows(features, part).first}, 1);
  };

  Rng rng(ctx.seed);
  BestEpoch best;
  TrainingRun run;
  run.validation_k = o.validation_k;
  run.best_validation = std::numeric_limits<double>::quiet_NaN();
  const auto t0 = std::chrono::steady_clock::now();
  // The network's output for a batch: logits before the output sigmoid, or the linear output.
  const auto output = [&](std::span<const index_t> part, const torch::Tensor& ratings, bool train) {
    return forward(decoder, forward(encoder, input(part, ratings, train), false), true);
  };
  Progress progress("fit " + o.name, static_cast<double>(o.epochs) * static_cast<double>(users.size()),
                    "users");
  double done = 0;
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    rng.shuffle(std::span<index_t>(users));
    double loss_sum = 0;
    for (std::size_t start = 0; start < users.size(); start += static_cast<std::size_t>(o.batch_size)) {
      const auto part = std::span<const index_t>(users).subspan(
          start, std::min(users.size() - start, static_cast<std::size_t>(o.batch_size)));
      const auto [target, mask] = dense_rows(fit, part);
      const torch::Tensor logits = output(part, target, true);
      const auto rows = static_cast<double>(part.size());
      torch::Tensor per_entry =
          o.bce ? torch::binary_cross_entropy_with_logits(logits, target, {}, {},
                                                          at::Reduction::None)
                : ((o.sigmoid_output ? torch::sigmoid(logits) : logits) - target).square();
      if (o.masked) per_entry = per_entry * mask;
      const torch::Tensor loss = per_entry.sum() / rows;
      adam.zero_grad();
      loss.backward();
      adam.step();
      loss_sum += loss.item<double>() * rows;
      done += rows;
      progress.update(done);
    }
    run.epochs_run = epoch;
    const double loss = loss_sum / static_cast<double>(users.size());
    RECKON_CHECK(std::isfinite(loss),
                 "{}: the loss became {} in epoch {} (try a smaller learning_rate)", o.name, loss,
                 epoch);
    if (!validate) {
      run.best_epoch = epoch;
      progress.set_note(fmt::format("epoch {}/{}, loss {:.4g}", epoch, o.epochs, loss));
      continue;
    }
    const auto fit_output = [&](std::span<const index_t> part) {
      return output(part, dense_rows(fit, part).first, false);
    };
    const double v = o.rmse_validation
                         ? validation_rmse(fit, valid, o.batch_size,
                                           [&](std::span<const index_t> part) {
                                             const torch::Tensor y = fit_output(part);
                                             return o.sigmoid_output ? torch::sigmoid(y) : y;
                                           })
                         : validation_ndcg(fit, valid, o.validation_k, o.batch_size, fit_output);
    const std::string metric =
        o.rmse_validation ? std::string("RMSE") : fmt::format("ndcg@{}", o.validation_k);
    best.offer(v, !o.rmse_validation, epoch, params, run);
    progress.set_note(fmt::format("epoch {}/{}, loss {:.4g}, validation {} {:.4f} (best {:.4f}, "
                                  "epoch {})",
                                  epoch, o.epochs, loss, metric, v, run.best_validation,
                                  run.best_epoch));
    if (o.patience > 0 && epoch - run.best_epoch >= o.patience) break;
  }
  progress.finish();
  run.seconds_per_epoch = seconds_per_epoch(t0, run.epochs_run);
  best.restore(params);
  if (ctx.verbose)
    spdlog::info("{}: {} epochs ({:.2f} s each), best epoch {}{}", o.name, run.epochs_run,
                 run.seconds_per_epoch, run.best_epoch,
                 validate ? fmt::format(" (validation {} {:.4f})",
                                        o.rmse_validation ? std::string("RMSE")
                                                          : fmt::format("ndcg@{}", o.validation_k),
                                        run.best_validation)
                          : "");
  TrainedNetwork out;
  std::vector<DenseLayer> enc, dec;
  for (const Layer& l : encoder) enc.push_back(to_layer(l.w, l.b, l.act));
  for (const Layer& l : decoder) dec.push_back(to_layer(l.w, l.b, l.act));
  out.encoder = Mlp(std::move(enc));
  out.decoder = Mlp(std::move(dec));
  out.run = run;
  return out;
}

}  // namespace reckon::neural
