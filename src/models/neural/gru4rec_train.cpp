// GRU4Rec training on libtorch, session-parallel: `batch_size` slots each walk one sequence a
// step at a time; a slot's state is carried to its next step (detached: one step of
// backpropagation through time, as published) and reset to zero when a new sequence takes the
// slot. The cell is neural/gru.hpp's, computed on tensors with the same layout.
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

struct Net {
  index_t items, dim, hidden;
  torch::Tensor embedding, input_weight, hidden_weight, input_bias, hidden_bias, output,
      output_bias;

  Net(index_t n, index_t d, index_t h) : items(n), dim(d), hidden(h) {
    embedding = xavier_weight(n, d);
    input_weight = xavier_weight(d, 3 * h);
    hidden_weight = xavier_weight(h, 3 * h);
    input_bias = torch::zeros({3 * h}).requires_grad_(true);
    hidden_bias = torch::zeros({3 * h}).requires_grad_(true);
    output = xavier_weight(n, h);
    output_bias = torch::zeros({n}).requires_grad_(true);
  }
  std::vector<torch::Tensor> parameters() const {
    return {embedding, input_weight, hidden_weight, input_bias, hidden_bias, output, output_bias};
  }
  // One step of the cell for a batch of items (B) and states (B x hidden).
  torch::Tensor step(const torch::Tensor& ids, const torch::Tensor& h, double dropout,
                     bool train) const {
    const torch::Tensor x = torch::dropout(torch::embedding(embedding, ids), dropout, train);
    const torch::Tensor gi = torch::addmm(input_bias, x, input_weight);
    const torch::Tensor gh = torch::addmm(hidden_bias, h, hidden_weight);
    const torch::Tensor r = torch::sigmoid(gi.narrow(1, 0, hidden) + gh.narrow(1, 0, hidden));
    const torch::Tensor z =
        torch::sigmoid(gi.narrow(1, hidden, hidden) + gh.narrow(1, hidden, hidden));
    const torch::Tensor n =
        torch::tanh(gi.narrow(1, 2 * hidden, hidden) + r * gh.narrow(1, 2 * hidden, hidden));
    return (1 - z) * n + z * h;
  }
  // Next-item scores (B x items) after each sequence (its newest max_len items), evaluation mode.
  torch::Tensor scores(const std::vector<std::vector<index_t>>& seqs, index_t max_len) const {
    std::size_t l = 0;
    for (const auto& s : seqs) l = std::max(l, std::min(s.size(), static_cast<std::size_t>(max_len)));
    const auto b = static_cast<std::int64_t>(seqs.size());
    // Right-aligned: a shorter sequence's first steps are padding, which leaves its state at 0.
    const auto [id, mask] = right_aligned(seqs, static_cast<index_t>(l));
    torch::Tensor h = torch::zeros({b, hidden});
    for (std::size_t t = 0; t < l; ++t) {
      const auto c = static_cast<std::int64_t>(t);
      h = torch::where(mask.select(1, c).unsqueeze(1), step(id.select(1, c), h, 0, false), h);
    }
    return torch::addmm(output_bias, h, output.t());
  }
};

GruNetwork to_plain(const Net& net, index_t max_len) {
  GruNetwork g;
  g.items = net.items, g.dim = net.dim, g.hidden = net.hidden, g.max_len = max_len;
  g.input_embedding = values_of(net.embedding);
  g.input_weight = values_of(net.input_weight);
  g.hidden_weight = values_of(net.hidden_weight);
  g.input_bias = values_of(net.input_bias);
  g.hidden_bias = values_of(net.hidden_bias);
  g.output_embedding = values_of(net.output);
  g.output_bias = values_of(net.output_bias);
  g.check_shapes();
  return g;
}

// Negatives by popularity^alpha (the published sampler), from the training counts.
class NegativeSampler {
 public:
  NegativeSampler(const SequenceData& data, double alpha) {
    const std::vector<index_t> counts = data.item_counts();
    cumulative_.reserve(counts.size());
    double total = 0;
    for (index_t c : counts) cumulative_.push_back(total += std::pow(static_cast<double>(c), alpha));
  }
  index_t draw(Rng& rng) const {
    const double u = rng.uniform() * cumulative_.back();
    const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), u);
    return std::min<index_t>(static_cast<index_t>(it - cumulative_.begin()),
                             static_cast<index_t>(cumulative_.size()) - 1);
  }

 private:
  std::vector<double> cumulative_;
};

// The loss of a step whose outputs are `h` (B x hidden) and targets `target` (B).
torch::Tensor step_loss(const Net& net, const torch::Tensor& h, const torch::Tensor& target,
                        const torch::Tensor& negatives, const Gru4RecOptions& o) {
  if (o.loss == SessionLoss::kSoftmax)
    return torch::cross_entropy_loss(torch::addmm(net.output_bias, h, net.output.t()), target);
  // The batch's targets and the sampled negatives as candidates; column b is row b's positive,
  // and another row's target that is the same item is not a negative.
  const torch::Tensor cand = torch::cat({target, negatives});
  const torch::Tensor logits =
      torch::mm(h, torch::embedding(net.output, cand).t()) + net.output_bias.index_select(0, cand);
  const auto b = target.size(0);
  const torch::Tensor positive = torch::eye(b, cand.size(0), torch::kBool);
  const torch::Tensor same = (cand.unsqueeze(0) == target.unsqueeze(1)) & positive.logical_not();
  const float minus_inf = -std::numeric_limits<float>::infinity();
  if (o.loss == SessionLoss::kCrossEntropy)
    return torch::cross_entropy_loss(logits.masked_fill(same, minus_inf), torch::arange(b));
  // BPR-max: -log sum_j s_j sigmoid(r_i - r_j) + reg sum_j s_j r_j^2, s = softmax of the
  // negatives' scores.
  const torch::Tensor pos = logits.diagonal().unsqueeze(1);
  const torch::Tensor excluded = same | positive;
  const torch::Tensor weights = torch::softmax(logits.masked_fill(excluded, minus_inf), 1);
  const torch::Tensor hit = (weights * torch::sigmoid(pos - logits)).sum(1);
  const torch::Tensor reg = (weights * logits.masked_fill(excluded, 0).pow(2)).sum(1);
  return (-torch::log(hit + 1e-24) + o.bpr_reg * reg).mean();
}

Net from_plain(const GruNetwork& g) {
  Net net(g.items, g.dim, g.hidden);
  torch::NoGradGuard no_grad;
  copy_into(net.embedding, g.input_embedding);
  copy_into(net.input_weight, g.input_weight);
  copy_into(net.hidden_weight, g.hidden_weight);
  copy_into(net.input_bias, g.input_bias);
  copy_into(net.hidden_bias, g.hidden_bias);
  copy_into(net.output, g.output_embedding);
  copy_into(net.output_bias, g.output_bias);
  return net;
}

}  // namespace

std::vector<float> gru4rec_scores_on_torch(const GruNetwork& g, std::span<const index_t> sequence) {
  torch::NoGradGuard no_grad;
  std::vector<std::vector<index_t>> seqs = {{sequence.begin(), sequence.end()}};
  const torch::Tensor s = from_plain(g).scores(seqs, g.max_len).contiguous();
  return {s.data_ptr<float>(), s.data_ptr<float>() + s.numel()};
}

GruNetwork train_gru4rec(const SequenceData& data, const Gru4RecOptions& o, FitContext& ctx,
                         TrainingRun& run) {
  const index_t items = data.items;
  configure_torch(ctx, o.batch_size * (o.loss == SessionLoss::kSoftmax ? items : o.hidden));
  const Sequences& seqs = data.fit;
  std::vector<index_t> order;
  double transitions = 0;
  for (index_t u = 0; u < seqs.rows(); ++u)
    if (seqs.row(u).size() >= 2) {
      order.push_back(u);
      transitions += static_cast<double>(seqs.row(u).size() - 1);
    }
  RECKON_CHECK(!order.empty(), "gru4rec: no user has two or more training interactions");
  const bool validate = data.valid.nnz() > 0;
  const NegativeSampler sampler(data, o.sample_alpha);

  Net net(items, o.dim, o.hidden);
  const std::vector<torch::Tensor> params = net.parameters();
  torch::optim::Adam adam(params, torch::optim::AdamOptions(o.learning_rate).weight_decay(o.l2));
  Rng rng(ctx.seed);
  BestEpoch best;
  run = TrainingRun{};
  run.validation_k = o.validation_k;
  run.best_validation = std::numeric_limits<double>::quiet_NaN();
  const auto t0 = std::chrono::steady_clock::now();
  Progress progress("fit gru4rec", static_cast<double>(o.epochs) * transitions, "steps");
  double done = 0;
  struct Slot {
    index_t user;
    std::size_t pos;  // the input is row[pos], the target row[pos + 1]
  };
  std::vector<Slot> slots;
  std::vector<std::int64_t> inputs, targets, negatives, keep, reset;
  std::vector<Slot> still;
  std::vector<std::vector<index_t>> batch;
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    rng.shuffle(std::span<index_t>(order));
    std::size_t next = 0;
    slots.clear();
    while (slots.size() < static_cast<std::size_t>(o.batch_size) && next < order.size())
      slots.push_back({order[next++], 0});
    torch::Tensor h = torch::zeros({static_cast<std::int64_t>(slots.size()), o.hidden});
    double loss_sum = 0;
    std::size_t steps = 0;
    while (!slots.empty()) {
      inputs.clear(), targets.clear(), negatives.clear();
      for (const Slot& s : slots) {
        const auto row = seqs.row(s.user);
        inputs.push_back(row[s.pos]);
        targets.push_back(row[s.pos + 1]);
      }
      if (o.loss != SessionLoss::kSoftmax)
        for (index_t k = 0; k < o.negatives; ++k) negatives.push_back(sampler.draw(rng));
      const torch::Tensor next_h = net.step(long_tensor(inputs), h, o.dropout, true);
      const torch::Tensor loss = step_loss(net, torch::dropout(next_h, o.dropout, true),
                                           long_tensor(targets), long_tensor(negatives), o);
      adam.zero_grad();
      loss.backward();
      adam.step();
      loss_sum += loss.item<double>();
      ++steps;
      done += static_cast<double>(slots.size());
      if (steps % 64 == 0) progress.update(done);
      // Advance every slot; a finished sequence gives its slot to the next one (state reset),
      // or the slot closes when none is left.
      h = next_h.detach();
      keep.clear(), reset.clear(), still.clear();
      for (std::size_t r = 0; r < slots.size(); ++r) {
        Slot s = slots[r];
        if (++s.pos + 1 < seqs.row(s.user).size()) {
          keep.push_back(static_cast<std::int64_t>(r));
          still.push_back(s);
        } else if (next < order.size()) {
          keep.push_back(static_cast<std::int64_t>(r));
          reset.push_back(static_cast<std::int64_t>(still.size()));
          still.push_back({order[next++], 0});
        }
      }
      if (still.size() != slots.size()) h = h.index_select(0, long_tensor(keep));
      if (!reset.empty()) h = h.index_fill(0, long_tensor(reset), 0.0);
      std::swap(slots, still);
    }
    progress.update(done);
    const double loss = loss_sum / static_cast<double>(std::max<std::size_t>(steps, 1));
    const double v = !validate ? std::numeric_limits<double>::quiet_NaN()
                               : validation_ndcg(data.seen, data.valid, o.validation_k, 256,
                                                 [&](std::span<const index_t> part) {
                                                   batch.assign(part.size(), {});
                                                   for (std::size_t r = 0; r < part.size(); ++r) {
                                                     const auto s = seqs.row(part[r]);
                                                     batch[r].assign(s.begin(), s.end());
                                                   }
                                                   return net.scores(batch, o.max_len);
                                                 });
    if (finish_epoch("gru4rec", epoch, o.epochs, loss, v, o.validation_k, o.patience, params,
                     best, run, progress))
      break;
  }
  finish_training("gru4rec", t0, params, best, run, progress, ctx.verbose);
  torch::NoGradGuard no_grad;
  return to_plain(net, o.max_len);
}

}  // namespace reckon::neural
