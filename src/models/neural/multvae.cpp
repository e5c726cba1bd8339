#include "reckon/models/neural/multvae.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "reckon/core/error.hpp"
#include "reckon/prep/split.hpp"
#include "trainers.hpp"

namespace reckon {

std::vector<ParamSpec> MultVaeModel::param_specs() {
  return {
      {"variant", ParamType::kString, "vae", 0, 0,
       "vae: Mult-VAE (KL term, annealed); dae: Mult-DAE (denoising, no KL term)",
       {"vae", "dae"}},
      {"hidden", ParamType::kInt, "600", 0, 1 << 16,
       "units of the hidden layer on each side of the code (0: none; the paper's Mult-DAE)"},
      {"latent", ParamType::kInt, "200", 1, 1 << 16, "size of the latent code"},
      {"dropout", ParamType::kFloat, "0.5", 0, 0.95, "share of the input clicks dropped in training"},
      {"epochs", ParamType::kInt, "200", 1, 100000, "the most passes over the users"},
      {"patience", ParamType::kInt, "10", 0, 100000,
       "stop after this many epochs without a better validation score (0: run every epoch)"},
      {"batch_size", ParamType::kInt, "500", 1, 1 << 20, "users per update"},
      {"learning_rate", ParamType::kFloat, "0.001", 1e-7, 1, "Adam's step size"},
      {"l2", ParamType::kFloat, "0", 0, 10, "weight decay (L2) of every weight"},
      {"anneal_cap", ParamType::kFloat, "0.2", 0, 1, "vae: the largest weight of the KL term"},
      {"anneal_steps", ParamType::kFloat, "200000", 1, 1e12,
       "vae: updates over which the KL weight grows linearly from 0 to 1 (capped at anneal_cap)"},
      {"validation", ParamType::kFloat, "0.1", 0, 0.5,
       "share of the users held out of training for early stopping (80% of each one's history given, "
       "the rest scored by ndcg@validation_k); 0: no early stopping"},
      {"max_validation_users", ParamType::kInt, "5000", 1, 1 << 30,
       "the most users held out for validation"},
      {"validation_k", ParamType::kInt, "100", 1, 100000, "the cut-off of validation ndcg"},
  };
}

void MultVaeModel::fit(const Dataset& train, const Params& params, FitContext& ctx) {
  neural::MultVaeOptions o;
  o.variational = params.get_string("variant") == "vae";
  o.hidden = params.get_int("hidden");
  o.latent = params.get_int("latent");
  o.dropout = params.get_float("dropout");
  o.epochs = static_cast<int>(params.get_int("epochs"));
  o.patience = static_cast<int>(params.get_int("patience"));
  o.batch_size = params.get_int("batch_size");
  o.learning_rate = params.get_float("learning_rate");
  o.l2 = params.get_float("l2");
  o.anneal_cap = params.get_float("anneal_cap");
  o.anneal_steps = params.get_float("anneal_steps");
  o.validation_k = params.get_int("validation_k");
  RECKON_CHECK(train.num_items() > 0, "multvae: the training data has no items");

  // Early stopping on users held out of training (the paper's protocol: strong generalisation),
  // never on the test set.
  const double share =
      std::min(params.get_float("validation"),
               static_cast<double>(params.get_int("max_validation_users")) /
                   static_cast<double>(std::max<index_t>(train.num_users(), 1)));
  neural::TrainedNetwork net;
  if (share > 0 && train.num_users() >= 10) {
    SplitOptions so;
    so.kind = SplitKind::kUsers;
    so.test_fraction = share;
    so.foldin_fraction = 0.8;
    so.seed = ctx.seed ^ 0x5eedULL;
    const Split s = split_dataset(train, so);
    if (ctx.verbose)
      spdlog::info("multvae: {} interactions of held-out users kept for early stopping",
                   s.test.nnz() + s.foldin.nnz());
    net = neural::train_multvae(s.train.interactions, s.foldin, s.test, o, ctx);
  } else {
    const CsrMatrix none = CsrMatrix::from_coordinates(
        train.num_users(), train.num_items(), std::vector<index_t>{}, std::vector<index_t>{},
        std::vector<float>{}, std::vector<std::int64_t>{}, DedupPolicy::kLast);
    net = neural::train_multvae(train.interactions, none, none, o, ctx);
  }
  encoder_ = std::move(net.encoder);
  decoder_ = std::move(net.decoder);
  run_ = net.run;
}

void MultVaeModel::encode_input(const UserContext& user, std::vector<index_t>& index,
                                std::vector<float>& value) const {
  const index_t n = encoder_.inputs();
  index.clear();
  for (index_t i : user.history)
    if (i >= 0 && i < n) index.push_back(i);
  std::sort(index.begin(), index.end());
  index.erase(std::unique(index.begin(), index.end()), index.end());
  value.assign(index.size(), index.empty() ? 0.0f : 1.0f / std::sqrt(static_cast<float>(index.size())));
}

void MultVaeModel::score(const UserContext& user, std::span<float> out) const {
  score_batch(std::span<const UserContext>(&user, 1), out);
}

void MultVaeModel::score_batch(std::span<const UserContext> users, std::span<float> out) const {
  neural::encode_decode_batch(
      encoder_, decoder_, static_cast<index_t>(users.size()),
      [&](index_t r, std::vector<index_t>& index, std::vector<float>& value) {
        encode_input(users[static_cast<std::size_t>(r)], index, value);
      },
      out);
}

std::vector<ScoredItem> MultVaeModel::similar_items(index_t item, std::size_t k) const {
  return neural::similar_outputs(decoder_, item, k);
}

nlohmann::json MultVaeModel::describe() const {
  return neural::describe_network(encoder_, decoder_, run_,
                                  fmt::format("validation_ndcg@{}", run_.validation_k));
}

void MultVaeModel::save(BinaryWriter& w) const {
  encoder_.save(w);
  decoder_.save(w);
  w.put(run_);
}

void MultVaeModel::load(BinaryReader& r) {
  encoder_ = neural::Mlp::load(r);
  decoder_ = neural::Mlp::load(r);
  RECKON_CHECK(decoder_.inputs() == encoder_.outputs() && decoder_.outputs() == encoder_.inputs(),
               "{}: corrupt multvae model: encoder {} -> {}, decoder {} -> {}", r.what(),
               encoder_.inputs(), encoder_.outputs(), decoder_.inputs(), decoder_.outputs());
  run_ = r.get<neural::TrainingRun>();  // shown by `reckon info` only
}

void MultVaeModel::validate(const Dataset& train) const {
  RECKON_CHECK(encoder_.inputs() == train.num_items(),
               "multvae model has {} items, the data has {}", encoder_.inputs(),
               train.num_items());
}

}  // namespace reckon
