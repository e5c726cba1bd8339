// Mult-VAE / Mult-DAE training on libtorch. The first layer is an embedding bag over the
// clicked items (a sparse product: the dense click matrix of Gowalla would be 40,981 columns per
// user), the last a full softmax over the catalogue, as published.
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

struct Net {
  std::vector<Layer> encoder, decoder;  // encoder[0] is the embedding bag over items
  bool variational;
  index_t latent;

  std::vector<torch::Tensor> parameters() const {
    std::vector<torch::Tensor> p;
    for (const auto* side : {&encoder, &decoder})
      for (const Layer& l : *side) p.insert(p.end(), {l.w, l.b});
    return p;
  }

  // The encoder's output for a batch given as an embedding bag: (mean, log variance) for the
  // VAE, (code, undefined) for the DAE.
  std::pair<torch::Tensor, torch::Tensor> encode(const torch::Tensor& index,
                                                 const torch::Tensor& offsets,
                                                 const torch::Tensor& values) const {
    torch::Tensor h = std::get<0>(torch::embedding_bag(encoder[0].w, index, offsets, false, 0,
                                                       false, values, false)) +
                      encoder[0].b;
    h = apply(encoder[0].act, h);
    for (std::size_t k = 1; k < encoder.size(); ++k)
      h = apply(encoder[k].act, torch::addmm(encoder[k].b, h, encoder[k].w));
    if (!variational) return {h, torch::Tensor()};
    return {h.narrow(1, 0, latent), h.narrow(1, latent, latent)};
  }

  torch::Tensor decode(torch::Tensor z) const {
    for (const Layer& l : decoder) z = apply(l.act, torch::addmm(l.b, z, l.w));
    return z;
  }
};

Net make_net(index_t items, const MultVaeOptions& o) {
  Net net;
  net.variational = o.variational;
  net.latent = o.latent;
  const index_t code_out = o.variational ? 2 * o.latent : o.latent;
  // The code of the DAE goes through tanh like its other layers; the VAE's mean and variance
  // are linear.
  const Activation code_act = o.variational ? Activation::kIdentity : Activation::kTanh;
  if (o.hidden > 0) {
    net.encoder.push_back({xavier_weight(items, o.hidden), small_bias(o.hidden), Activation::kTanh});
    net.encoder.push_back({xavier_weight(o.hidden, code_out), small_bias(code_out), code_act});
    net.decoder.push_back({xavier_weight(o.latent, o.hidden), small_bias(o.hidden), Activation::kTanh});
    net.decoder.push_back({xavier_weight(o.hidden, items), small_bias(items), Activation::kIdentity});
  } else {
    net.encoder.push_back({xavier_weight(items, code_out), small_bias(code_out), code_act});
    net.decoder.push_back({xavier_weight(o.latent, items), small_bias(items), Activation::kIdentity});
  }
  return net;
}

// A batch of users as an embedding bag of their (normalised, dropped-out) clicks, and the flat
// positions (row * items + item) of every click, the multinomial likelihood's targets.
struct Batch {
  std::vector<std::int64_t> index, offsets, targets;
  std::vector<float> values;
};

void fill_batch(const CsrMatrix& m, std::span<const index_t> users, double dropout, Rng* rng,
                Batch& b) {
  b.index.clear(), b.offsets.clear(), b.targets.clear(), b.values.clear();
  const auto items = static_cast<std::int64_t>(m.cols());
  const float keep_scale = static_cast<float>(1.0 / (1.0 - dropout));
  for (std::size_t r = 0; r < users.size(); ++r) {
    b.offsets.push_back(static_cast<std::int64_t>(b.index.size()));
    const auto row = m.row_indices(users[r]);
    if (row.empty()) continue;
    const float norm = 1.0f / std::sqrt(static_cast<float>(row.size()));
    for (index_t i : row) {
      b.targets.push_back(static_cast<std::int64_t>(r) * items + i);
      if (rng != nullptr && dropout > 0) {
        if (rng->uniform() < dropout) continue;
        b.values.push_back(norm * keep_scale);
      } else {
        b.values.push_back(norm);
      }
      b.index.push_back(i);
    }
  }
}

torch::Tensor float_tensor(const std::vector<float>& v) {
  return torch::from_blob(const_cast<float*>(v.data()), {static_cast<std::int64_t>(v.size())},
                          torch::kFloat32)
      .clone();
}

TrainedNetwork to_network(const Net& net) {
  TrainedNetwork out;
  std::vector<DenseLayer> enc, dec;
  for (std::size_t k = 0; k < net.encoder.size(); ++k) {
    const Layer& l = net.encoder[k];
    // Scoring runs the mean of the code: the VAE's last encoder layer keeps its first half.
    if (net.variational && k + 1 == net.encoder.size())
      enc.push_back(to_layer(l.w.narrow(1, 0, net.latent), l.b.narrow(0, 0, net.latent), l.act));
    else
      enc.push_back(to_layer(l.w, l.b, l.act));
  }
  for (const Layer& l : net.decoder) dec.push_back(to_layer(l.w, l.b, l.act));
  out.encoder = Mlp(std::move(enc));
  out.decoder = Mlp(std::move(dec));
  return out;
}

}  // namespace

bool torch_available() { return true; }

TrainedNetwork train_multvae(const CsrMatrix& train, const CsrMatrix& valid_foldin,
                             const CsrMatrix& valid_test, const MultVaeOptions& o,
                             FitContext& ctx) {
  const index_t items = train.cols();
  configure_torch(ctx, o.batch_size * items);
  std::vector<index_t> users;
  for (index_t u = 0; u < train.rows(); ++u)
    if (!train.row_indices(u).empty()) users.push_back(u);
  RECKON_CHECK(!users.empty(), "multvae: no user has training interactions");
  const bool validate = valid_test.nnz() > 0;

  Net net = make_net(items, o);
  torch::optim::Adam adam(net.parameters(),
                          torch::optim::AdamOptions(o.learning_rate).weight_decay(o.l2));
  Rng rng(ctx.seed);
  Batch b;
  BestEpoch best;
  TrainedNetwork result;
  TrainingRun& run = result.run;
  run.validation_k = o.validation_k;
  run.best_validation = std::numeric_limits<double>::quiet_NaN();
  double updates = 0;
  const auto t0 = std::chrono::steady_clock::now();
  Progress progress(o.variational ? "fit multvae" : "fit multvae (dae)",
                    static_cast<double>(o.epochs) * static_cast<double>(users.size()), "users");
  double done = 0;
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    rng.shuffle(std::span<index_t>(users));
    double loss_sum = 0;
    for (std::size_t start = 0; start < users.size(); start += static_cast<std::size_t>(o.batch_size)) {
      const auto part = std::span<const index_t>(users).subspan(
          start, std::min(users.size() - start, static_cast<std::size_t>(o.batch_size)));
      fill_batch(train, part, o.dropout, &rng, b);
      const auto rows = static_cast<double>(part.size());
      auto [mu, logvar] =
          net.encode(long_tensor(b.index), long_tensor(b.offsets), float_tensor(b.values));
      torch::Tensor z = mu;
      torch::Tensor kl;
      if (o.variational) {
        z = mu + torch::randn_like(mu) * torch::exp(0.5 * logvar);
        kl = (-0.5 * (1 + logvar - mu * mu - torch::exp(logvar)).sum(1)).mean();
      }
      const torch::Tensor log_softmax = torch::log_softmax(net.decode(z), 1);
      torch::Tensor loss = -log_softmax.view(-1).index_select(0, long_tensor(b.targets)).sum() / rows;
      if (o.variational) {
        const double beta = std::min(o.anneal_cap, updates / o.anneal_steps);
        loss = loss + beta * kl;
      }
      adam.zero_grad();
      loss.backward();
      adam.step();
      ++updates;
      loss_sum += loss.item<double>() * rows;
      done += rows;
      progress.update(done);
    }
    const double loss = loss_sum / static_cast<double>(users.size());
    const double v =
        !validate ? std::numeric_limits<double>::quiet_NaN()
                  : validation_ndcg(valid_foldin, valid_test, o.validation_k, o.batch_size,
                                    [&](std::span<const index_t> part) {
                                      fill_batch(valid_foldin, part, 0, nullptr, b);
                                      return net.decode(net.encode(long_tensor(b.index),
                                                                   long_tensor(b.offsets),
                                                                   float_tensor(b.values))
                                                            .first);
                                    });
    if (finish_epoch("multvae", epoch, o.epochs, loss, v, o.validation_k, o.patience,
                     net.parameters(), best, run, progress))
      break;
  }
  finish_training("multvae", t0, net.parameters(), best, run, progress, ctx.verbose);
  TrainedNetwork out = to_network(net);
  out.run = run;
  return out;
}

}  // namespace reckon::neural
