// SASRec training on libtorch: the network of neural/transformer.hpp as tensors (the same
// arithmetic, so the plain network scores as trained), Adam, a full softmax over the catalogue
// or binary cross-entropy against sampled negatives, early stopping on each validation user's
// newest interaction.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "reckon/core/error.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/core/random.hpp"
#include "reckon/models/neural/sequence.hpp"
#include "torch_support.hpp"
#include "trainers.hpp"

namespace reckon::neural {
namespace {

struct Block {
  torch::Tensor norm1_gain, norm1_bias, qkv_weight, qkv_bias, out_weight, out_bias, norm2_gain,
      norm2_bias, ffn1_weight, ffn1_bias, ffn2_weight, ffn2_bias;
  std::vector<torch::Tensor> parameters() const {
    return {norm1_gain, norm1_bias, qkv_weight, qkv_bias,    out_weight,  out_bias,
            norm2_gain, norm2_bias, ffn1_weight, ffn1_bias, ffn2_weight, ffn2_bias};
  }
};

torch::Tensor ones(index_t n) { return torch::ones({n}).requires_grad_(true); }
torch::Tensor zeros(index_t n) { return torch::zeros({n}).requires_grad_(true); }

struct Net {
  index_t items, dim, heads, max_len, ffn;
  torch::Tensor item, position;  // items x dim, max_len x dim
  std::vector<Block> blocks;
  torch::Tensor final_gain, final_bias;

  Net(index_t n, const SasRecOptions& o)
      : items(n), dim(o.dim), heads(o.heads), max_len(o.max_len), ffn(o.ffn) {
    item = xavier_weight(items, dim);
    position = xavier_weight(max_len, dim);
    for (int k = 0; k < o.blocks; ++k)
      blocks.push_back({ones(dim), zeros(dim), xavier_weight(dim, 3 * dim), zeros(3 * dim),
                        xavier_weight(dim, dim), zeros(dim), ones(dim), zeros(dim),
                        xavier_weight(dim, ffn), zeros(ffn), xavier_weight(ffn, dim), zeros(dim)});
    final_gain = ones(dim);
    final_bias = zeros(dim);
  }

  std::vector<torch::Tensor> parameters() const {
    std::vector<torch::Tensor> p = {item, position, final_gain, final_bias};
    for (const Block& b : blocks)
      for (const auto& t : b.parameters()) p.push_back(t);
    return p;
  }

  // The outputs (B x L x dim) for right-aligned windows `ids` (B x L; padding marked false in
  // `real`, B x L). A real position attends to the real positions up to itself; a padding
  // position to itself alone (it is never read, and never attended to).
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& real, double dropout,
                        bool train) const {
    const auto b = ids.size(0), l = ids.size(1);
    torch::Tensor x = torch::embedding(item, ids) * std::sqrt(static_cast<double>(dim)) *
                          real.unsqueeze(2).to(torch::kFloat32) +
                      position.narrow(0, max_len - l, l);
    x = torch::dropout(x, dropout, train);
    const torch::Tensor causal = torch::ones({l, l}, torch::kBool).tril();
    const torch::Tensor allowed =
        (causal.unsqueeze(0) & (real.unsqueeze(1) | torch::eye(l, torch::kBool).unsqueeze(0)))
            .unsqueeze(1);  // B x 1 x L x L
    const index_t dh = dim / heads;
    for (const Block& blk : blocks) {
      const torch::Tensor h = torch::layer_norm(x, {dim}, blk.norm1_gain, blk.norm1_bias,
                                                kLayerNormEpsilon);
      const torch::Tensor qkv = torch::matmul(h, blk.qkv_weight) + blk.qkv_bias;
      const auto split = [&](int part) {
        return qkv.narrow(2, part * dim, dim).view({b, l, heads, dh}).transpose(1, 2);
      };
      torch::Tensor s = torch::matmul(split(0), split(1).transpose(2, 3)) /
                        std::sqrt(static_cast<double>(dh));
      s = s.masked_fill(allowed.logical_not(), -std::numeric_limits<float>::infinity());
      const torch::Tensor a = torch::dropout(torch::softmax(s, 3), dropout, train);
      const torch::Tensor o = torch::matmul(a, split(2)).transpose(1, 2).reshape({b, l, dim});
      x = x + torch::dropout(torch::matmul(o, blk.out_weight) + blk.out_bias, dropout, train);
      torch::Tensor f = torch::layer_norm(x, {dim}, blk.norm2_gain, blk.norm2_bias,
                                          kLayerNormEpsilon);
      f = torch::dropout(torch::relu(torch::matmul(f, blk.ffn1_weight) + blk.ffn1_bias), dropout,
                         train);
      x = x + torch::dropout(torch::matmul(f, blk.ffn2_weight) + blk.ffn2_bias, dropout, train);
    }
    return torch::layer_norm(x, {dim}, final_gain, final_bias, kLayerNormEpsilon);
  }
};

CausalTransformer to_plain(const Net& net) {
  CausalTransformer t;
  t.items = net.items;
  t.dim = net.dim;
  t.heads = net.heads;
  t.max_len = net.max_len;
  t.ffn = net.ffn;
  t.item_embedding = values_of(net.item);
  t.position_embedding = values_of(net.position);
  for (const Block& b : net.blocks)
    t.blocks.push_back({values_of(b.norm1_gain), values_of(b.norm1_bias), values_of(b.qkv_weight),
                        values_of(b.qkv_bias), values_of(b.out_weight), values_of(b.out_bias),
                        values_of(b.norm2_gain), values_of(b.norm2_bias),
                        values_of(b.ffn1_weight), values_of(b.ffn1_bias),
                        values_of(b.ffn2_weight), values_of(b.ffn2_bias)});
  t.final_gain = values_of(net.final_gain);
  t.final_bias = values_of(net.final_bias);
  t.check_shapes();
  return t;
}

// A window of a user's sequence: inputs s[end - len .. end), targets s[end - len + 1 .. end].
struct Window {
  index_t user, end, len;
};

// Windows of at most `max_len` transitions from the newest backwards: every transition once.
std::vector<Window> windows_of(const Sequences& s, index_t max_len) {
  std::vector<Window> out;
  for (index_t u = 0; u < s.rows(); ++u) {
    for (auto end = static_cast<index_t>(s.row(u).size()) - 1; end >= 1; end -= max_len)
      out.push_back({u, end, std::min(end, max_len)});
  }
  return out;
}


// The torch network holding the plain network's weights.
Net from_plain(const CausalTransformer& t) {
  SasRecOptions o;
  o.dim = t.dim, o.heads = t.heads, o.max_len = t.max_len, o.ffn = t.ffn;
  o.blocks = static_cast<int>(t.blocks.size());
  Net net(t.items, o);
  torch::NoGradGuard no_grad;
  copy_into(net.item, t.item_embedding);
  copy_into(net.position, t.position_embedding);
  for (std::size_t k = 0; k < t.blocks.size(); ++k) {
    const TransformerBlock& b = t.blocks[k];
    const std::vector<torch::Tensor> p = net.blocks[k].parameters();
    const std::vector<const std::vector<float>*> v = {
        &b.norm1_gain, &b.norm1_bias, &b.qkv_weight,  &b.qkv_bias,  &b.out_weight,  &b.out_bias,
        &b.norm2_gain, &b.norm2_bias, &b.ffn1_weight, &b.ffn1_bias, &b.ffn2_weight, &b.ffn2_bias};
    for (std::size_t j = 0; j < p.size(); ++j) copy_into(p[j], *v[j]);
  }
  copy_into(net.final_gain, t.final_gain);
  copy_into(net.final_bias, t.final_bias);
  return net;
}

// The next-item scores (B x items) of each sequence's newest max_len items, in evaluation mode.
torch::Tensor next_item_scores(const Net& net, const std::vector<std::vector<index_t>>& seqs) {
  const auto [ids, real] = right_aligned(seqs, net.max_len);
  return torch::mm(net.forward(ids, real, 0, false).select(1, net.max_len - 1), net.item.t());
}

}  // namespace

std::vector<float> sasrec_scores_on_torch(const CausalTransformer& t,
                                          std::span<const index_t> sequence) {
  torch::NoGradGuard no_grad;
  std::vector<std::vector<index_t>> seqs = {{sequence.begin(), sequence.end()}};
  const torch::Tensor s = next_item_scores(from_plain(t), seqs).contiguous();
  return {s.data_ptr<float>(), s.data_ptr<float>() + s.numel()};
}

CausalTransformer train_sasrec(const SequenceData& data, const SasRecOptions& o,
                               FitContext& ctx, TrainingRun& run) {
  const index_t items = data.items;
  const index_t l = o.max_len;
  // The catalogue-wide products are OpenBLAS's (threaded on their own); torch's loops run over
  // the activations of a batch, small for MovieLens-sized windows (one thread: 2 were slower).
  configure_torch(ctx, o.batch_size * l * std::max(o.dim, o.ffn));
  const Sequences& seqs = data.fit;
  std::vector<Window> windows = windows_of(seqs, l);
  RECKON_CHECK(!windows.empty(), "sasrec: no user has two or more training interactions");
  const bool validate = data.valid.nnz() > 0;

  Net net(items, o);
  const std::vector<torch::Tensor> params = net.parameters();
  torch::optim::Adam adam(
      params, torch::optim::AdamOptions(o.learning_rate).betas({0.9, 0.98}).weight_decay(o.l2));
  Rng rng(ctx.seed);
  BestEpoch best;
  run = TrainingRun{};
  run.validation_k = o.validation_k;
  run.best_validation = std::numeric_limits<double>::quiet_NaN();
  const auto t0 = std::chrono::steady_clock::now();
  Progress progress("fit sasrec",
                    static_cast<double>(o.epochs) * static_cast<double>(windows.size()),
                    "sequences");
  double done = 0;
  std::vector<std::vector<index_t>> batch_inputs;
  std::vector<std::int64_t> targets, positions, negatives;
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    rng.shuffle(std::span<Window>(windows));
    double loss_sum = 0;
    std::size_t steps = 0;
    for (std::size_t start = 0; start < windows.size(); start += static_cast<std::size_t>(o.batch_size)) {
      const std::size_t n = std::min(windows.size() - start, static_cast<std::size_t>(o.batch_size));
      batch_inputs.assign(n, {});
      targets.clear(), positions.clear(), negatives.clear();
      for (std::size_t r = 0; r < n; ++r) {
        const Window& w = windows[start + r];
        const auto s = seqs.row(w.user);
        const auto first = static_cast<std::size_t>(w.end - w.len);
        batch_inputs[r].assign(s.begin() + static_cast<std::ptrdiff_t>(first),
                               s.begin() + static_cast<std::ptrdiff_t>(w.end));
        const auto seen = data.fit_items.row_indices(w.user);  // sorted: negatives avoid them
        for (index_t j = 0; j < w.len; ++j) {
          positions.push_back(static_cast<std::int64_t>(r) * l + (l - w.len) + j);
          targets.push_back(s[first + static_cast<std::size_t>(j) + 1]);
          for (index_t k = 0; !o.softmax && k < o.negatives; ++k) {
            index_t neg = static_cast<index_t>(rng.below(static_cast<std::uint64_t>(items)));
            for (int tries = 0; tries < 16 && std::binary_search(seen.begin(), seen.end(), neg); ++tries)
              neg = static_cast<index_t>(rng.below(static_cast<std::uint64_t>(items)));
            negatives.push_back(neg);
          }
        }
      }
      const auto [ids, real] = right_aligned(batch_inputs, l);
      const auto count = static_cast<std::int64_t>(positions.size());
      const torch::Tensor h = net.forward(ids, real, o.dropout, true)
                                  .view({-1, o.dim})
                                  .index_select(0, long_tensor(positions));
      const torch::Tensor target = long_tensor(targets);
      torch::Tensor loss;
      if (o.softmax) {
        loss = torch::cross_entropy_loss(torch::mm(h, net.item.t()), target);
      } else {
        const torch::Tensor pos = (h * torch::embedding(net.item, target)).sum(1);
        const torch::Tensor neg =
            (h.unsqueeze(1) *
             torch::embedding(net.item, long_tensor(negatives).view({count, o.negatives})))
                .sum(2);
        loss = -(torch::log_sigmoid(pos).mean() + torch::log_sigmoid(-neg).sum(1).mean());
      }
      adam.zero_grad();
      loss.backward();
      adam.step();
      loss_sum += loss.item<double>();
      ++steps;
      done += static_cast<double>(n);
      progress.update(done);
    }
    const double loss = loss_sum / static_cast<double>(std::max<std::size_t>(steps, 1));
    const double v = !validate ? std::numeric_limits<double>::quiet_NaN()
                               : validation_ndcg(data.seen, data.valid, o.validation_k, o.batch_size,
                                                 [&](std::span<const index_t> part) {
                                                   batch_inputs.assign(part.size(), {});
                                                   for (std::size_t r = 0; r < part.size(); ++r) {
                                                     const auto s = seqs.row(part[r]);
                                                     batch_inputs[r].assign(s.begin(), s.end());
                                                   }
                                                   return next_item_scores(net, batch_inputs);
                                                 });
    if (finish_epoch("sasrec", epoch, o.epochs, loss, v, o.validation_k, o.patience, params, best,
                     run, progress))
      break;
  }
  finish_training("sasrec", t0, params, best, run, progress, ctx.verbose);
  torch::NoGradGuard no_grad;
  return to_plain(net);
}

}  // namespace reckon::neural
