#include "reckon/models/neural/dae.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "reckon/core/error.hpp"
#include "reckon/prep/split.hpp"
#include "trainers.hpp"

namespace reckon {
namespace {

neural::Activation parse_activation(const std::string& name) {
  if (name == "tanh") return neural::Activation::kTanh;
  if (name == "relu") return neural::Activation::kRelu;
  return neural::Activation::kSigmoid;
}

}  // namespace

std::vector<ParamSpec> DaeModel::param_specs() {
  return {
      // bce on every entry: the best validation ndcg@10 of the four (ML-100K, both regimes).
      {"loss", ParamType::kString, "bce", 0, 0,
       "mse: squared error of the sigmoid output; bce: binary cross-entropy (ratings / max as "
       "targets)",
       {"mse", "bce"}},
      {"masked", ParamType::kBool, "false", 0, 0,
       "true: the loss on the rated entries only (predicts ratings); false: on every entry, "
       "unrated = 0 (predicts what a user rates: the ranker)"},
      {"hidden", ParamType::kInt, "0", 0, 1 << 16,
       "units of a hidden layer on each side of the code (0: none: [items+features -> latent -> "
       "items])"},
      {"latent", ParamType::kInt, "200", 1, 1 << 16, "size of the code"},
      {"activation", ParamType::kString, "sigmoid", 0, 0, "of the hidden layers and the code",
       {"sigmoid", "tanh", "relu"}},
      {"dropout", ParamType::kFloat, "0.5", 0, 0.95,
       "share of the input ratings dropped in training (the denoising)"},
      {"epochs", ParamType::kInt, "300", 1, 100000, "the most passes over the users"},
      {"patience", ParamType::kInt, "15", 0, 100000,
       "stop after this many epochs without a better validation score (0: run every epoch)"},
      {"batch_size", ParamType::kInt, "64", 1, 1 << 20, "users per update"},
      {"learning_rate", ParamType::kFloat, "0.001", 1e-7, 1, "Adam's step size"},
      {"l2", ParamType::kFloat, "0", 0, 10, "weight decay (L2) of every weight"},
      {"validation", ParamType::kFloat, "0.1", 0, 0.5,
       "share of each user's ratings held out of training for early stopping, scored by "
       "ndcg@validation_k (masked: by RMSE) (0: none)"},
      {"validation_k", ParamType::kInt, "10", 1, 100000, "the cut-off of validation ndcg"},
      {"user_columns", ParamType::kString, "", 0, -1,
       "user feature columns in the input, comma-separated (empty: every usable one, such as "
       "age, gender, occupation; none: ratings only)"},
      {"numeric", ParamType::kString, "buckets", 0, -1,
       "numeric columns (age): buckets (one feature per quantile bucket) or raw (one value "
       "scaled to [0, 1])",
       {"buckets", "raw"}},
      {"buckets", ParamType::kInt, "10", 2, 1000, "numeric: quantile buckets"},
  };
}

void DaeModel::fit(const Dataset& train, const Params& params, FitContext& ctx) {
  neural::UserAutoencoderOptions o;
  o.bce = params.get_string("loss") == "bce";
  o.masked = params.get_bool("masked");
  o.hidden = params.get_int("hidden");
  o.latent = params.get_int("latent");
  o.activation = parse_activation(params.get_string("activation"));
  o.dropout = params.get_float("dropout");
  o.epochs = static_cast<int>(params.get_int("epochs"));
  o.patience = static_cast<int>(params.get_int("patience"));
  o.batch_size = params.get_int("batch_size");
  o.learning_rate = params.get_float("learning_rate");
  o.l2 = params.get_float("l2");
  o.validation_k = params.get_int("validation_k");
  // A masked model predicts ratings: it stops on their RMSE (in the scaled units), not on a
  // ranking it was not fitted for.
  o.rmse_validation = o.masked;
  masked_ = o.masked;
  bce_ = o.bce;
  const CsrMatrix& x = train.interactions;
  RECKON_CHECK(x.nnz() > 0 && x.cols() > 0, "dae: the training data has no interactions");

  // Targets in [0, 1]: the values over the largest. An unrated entry is 0, so the values
  // cannot be negative (a dislike would be read as "less than unrated").
  float top = 0;
  double sum = 0;
  for (float v : x.values()) {
    RECKON_CHECK(v >= 0 && std::isfinite(v),
                 "dae: interaction values must be 0 or more (ratings, counts, 1 for a click); "
                 "found {}",
                 v);
    top = std::max(top, v);
    sum += v;
  }
  value_scale_ = top > 0 ? 1.0f / top : 1.0f;
  default_input_ = top > 0 ? static_cast<float>(sum / static_cast<double>(x.nnz())) * value_scale_
                           : 1.0f;

  const std::string& columns = params.get_string("user_columns");
  user_encoder_ = FeatureEncoder();
  if (columns != "none") {
    FeatureEncoderOptions fo;
    fo.side = "user";
    fo.columns = columns;
    fo.numeric_raw = params.get_string("numeric") == "raw";
    fo.buckets = static_cast<int>(params.get_int("buckets"));
    user_encoder_.fit(train.user_features, fo, "dae");
  }
  CsrMatrix features =
      user_encoder_.empty() || train.user_features.rows() != x.rows()
          ? CsrMatrix::from_coordinates(x.rows(), 0, std::vector<index_t>{},
                                        std::vector<index_t>{}, std::vector<float>{},
                                        std::vector<std::int64_t>{}, DedupPolicy::kLast)
          : user_encoder_.encode(train.user_features);
  if (user_encoder_.size() != features.cols()) user_encoder_ = FeatureEncoder();
  if (ctx.verbose && !user_encoder_.empty())
    spdlog::info("dae: {} user features from {} columns beside the {} items", user_encoder_.size(),
                 user_encoder_.columns().size(), x.cols());

  // Scaled ratings; a per-user share held out for early stopping (never the test set).
  std::vector<float> scaled(x.values().begin(), x.values().end());
  for (float& v : scaled) v *= value_scale_;
  const CsrMatrix all = x.with_values(std::move(scaled)).without_times();
  const double share = params.get_float("validation");
  CsrMatrix fit_part = all, valid = CsrMatrix::from_coordinates(
                                x.rows(), x.cols(), std::vector<index_t>{}, std::vector<index_t>{},
                                std::vector<float>{}, std::vector<std::int64_t>{},
                                DedupPolicy::kLast);
  bool some_user_has_two = false;
  for (index_t u = 0; u < x.rows() && !some_user_has_two; ++u) some_user_has_two = x.row_size(u) >= 2;
  if (share > 0 && some_user_has_two) {
    SplitOptions so;
    so.kind = SplitKind::kMasks;
    so.test_fraction = share;
    so.seed = ctx.seed ^ 0xdaeULL;
    Split s = split_dataset(train.with_interactions(all), so);
    fit_part = std::move(s.train.interactions);
    valid = std::move(s.test);
    if (ctx.verbose)
      spdlog::info("dae: {} ratings held out of training for early stopping", valid.nnz());
  }
  neural::TrainedNetwork net = neural::train_user_autoencoder(fit_part, features, valid, o, ctx);
  encoder_ = std::move(net.encoder);
  decoder_ = std::move(net.decoder);
  run_ = net.run;
}

void DaeModel::encode_input(const UserContext& user, std::vector<index_t>& index,
                            std::vector<float>& value) const {
  const index_t items = decoder_.outputs();
  neural::history_input(user.history, user.weights, default_input_ / value_scale_, items, index,
                        value);
  for (float& v : value) v = std::clamp(v * value_scale_, 0.0f, 1.0f);
  if (user.features == nullptr || user_encoder_.empty() || user.feature_row < 0 ||
      user.feature_row >= user.features->rows())
    return;
  std::vector<std::pair<index_t, float>> fs;
  user_encoder_.encode_row(*user.features, user.feature_row, fs);
  for (const auto& [f, v] : fs) {
    if (f < 0 || f >= user_encoder_.size()) continue;
    index.push_back(items + f);
    value.push_back(v);
  }
}

void DaeModel::score(const UserContext& user, std::span<float> out) const {
  score_batch(std::span<const UserContext>(&user, 1), out);
}

void DaeModel::score_batch(std::span<const UserContext> users, std::span<float> out) const {
  neural::encode_decode_batch(
      encoder_, decoder_, static_cast<index_t>(users.size()),
      [&](index_t r, std::vector<index_t>& index, std::vector<float>& value) {
        encode_input(users[static_cast<std::size_t>(r)], index, value);
      },
      out);
  // In the data's units: a masked model predicts the rating.
  for (float& s : out) s /= value_scale_;
}

bool DaeModel::scores_without_history(const UserContext& user) const {
  if (user.features == nullptr || user_encoder_.empty() || user.feature_row < 0 ||
      user.feature_row >= user.features->rows())
    return false;
  std::vector<std::pair<index_t, float>> fs;
  user_encoder_.encode_row(*user.features, user.feature_row, fs);
  return !fs.empty();
}

std::vector<ScoredItem> DaeModel::similar_items(index_t item, std::size_t k) const {
  return neural::similar_outputs(decoder_, item, k);
}

nlohmann::json DaeModel::describe() const {
  nlohmann::json j = neural::describe_network(
      encoder_, decoder_, run_,
      masked_ ? std::string("validation_rmse_scaled")
              : fmt::format("validation_ndcg@{}", run_.validation_k));
  nlohmann::json columns = nlohmann::json::array();
  for (const auto& c : user_encoder_.columns()) columns.push_back(c.name);
  j["loss"] = bce_ ? "bce" : "mse";
  j["masked"] = masked_;
  j["user_features"] = user_encoder_.size();
  j["user_columns"] = columns;
  return j;
}

void DaeModel::save(BinaryWriter& w) const {
  encoder_.save(w);
  decoder_.save(w);
  user_encoder_.write(w);
  w.put(value_scale_);
  w.put(default_input_);
  w.put<std::uint8_t>(static_cast<std::uint8_t>((masked_ ? 1 : 0) | (bce_ ? 2 : 0)));
  w.put(run_);
}

void DaeModel::load(BinaryReader& r) {
  encoder_ = neural::Mlp::load(r);
  decoder_ = neural::Mlp::load(r);
  user_encoder_.read(r);
  value_scale_ = r.get<float>();
  default_input_ = r.get<float>();
  const auto flags = r.get<std::uint8_t>();
  RECKON_CHECK(decoder_.inputs() == encoder_.outputs() &&
                   encoder_.inputs() == decoder_.outputs() + user_encoder_.size(),
               "{}: corrupt dae model: encoder {} -> {}, decoder {} -> {}, {} user features",
               r.what(), encoder_.inputs(), encoder_.outputs(), decoder_.inputs(),
               decoder_.outputs(), user_encoder_.size());
  RECKON_CHECK(std::isfinite(value_scale_) && value_scale_ > 0 && std::isfinite(default_input_) &&
                   default_input_ >= 0 && default_input_ <= 1 && flags <= 3,
               "{}: corrupt dae model: value scale {}, default input {}, flags {}", r.what(),
               value_scale_, default_input_, flags);
  masked_ = (flags & 1) != 0;
  bce_ = (flags & 2) != 0;
  run_ = r.get<neural::TrainingRun>();  // shown by `reckon info` only
}

void DaeModel::validate(const Dataset& train) const {
  RECKON_CHECK(decoder_.outputs() == train.num_items(), "dae model has {} items, the data has {}",
               decoder_.outputs(), train.num_items());
}

}  // namespace reckon
