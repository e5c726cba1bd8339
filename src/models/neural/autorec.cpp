#include "reckon/models/neural/autorec.hpp"

#include <spdlog/spdlog.h>

#include "reckon/core/error.hpp"

#include "trainers.hpp"

namespace reckon {

std::vector<ParamSpec> AutoRecModel::param_specs() {
  return {
      {"variant", ParamType::kString, "item", 0, 0,
       "item: I-AutoRec (an item's ratings by the users encoded); user: U-AutoRec (a user's "
       "ratings of the items encoded)",
       {"item", "user"}},
      {"hidden", ParamType::kInt, "500", 1, 1 << 16, "units of the code (the paper: 500)"},
      // 100: the best validation RMSE (5% of ML-100K u1.base) of 1, 20, 100, 300 and 1000.
      {"lambda", ParamType::kFloat, "100", 0, 1e6,
       "L2 weight of the encoder and decoder weights (lambda/2 |W|^2 per pass over the items)"},
      {"epochs", ParamType::kInt, "500", 1, 100000, "the most passes over the items"},
      {"patience", ParamType::kInt, "20", 0, 100000,
       "stop after this many epochs without a better validation RMSE (0: run every epoch)"},
      {"batch_size", ParamType::kInt, "64", 1, 1 << 20, "items per update"},
      {"learning_rate", ParamType::kFloat, "0.001", 1e-7, 1, "Adam's step size"},
      {"validation", ParamType::kFloat, "0.05", 0, 0.5,
       "share of the ratings held out of training for early stopping (0: none)"},
  };
}

void AutoRecModel::fit(const Dataset& train, const Params& params, FitContext& ctx) {
  neural::AutoRecOptions o;
  o.hidden = params.get_int("hidden");
  o.lambda = params.get_float("lambda");
  o.epochs = static_cast<int>(params.get_int("epochs"));
  o.patience = static_cast<int>(params.get_int("patience"));
  o.batch_size = params.get_int("batch_size");
  o.learning_rate = params.get_float("learning_rate");
  const CsrMatrix& x = train.interactions;
  if (!train.explicit_ratings && ctx.verbose)
    spdlog::warn("autorec: the data's values are not ratings; it predicts them all the same");

  if (params.get_string("variant") == "user") {
    fit_user_variant(x, params, ctx);
    return;
  }
  user_encoder_ = neural::Mlp();
  CsrMatrix fit_part, valid;
  carve_validation(x, params.get_float("validation"), ctx.seed, fit_part, valid);
  const neural::TrainedItemCodes t = neural::train_autorec(x, fit_part, valid, o, ctx);
  set_codes(t.item_codes, o.hidden, x, static_cast<float>(o.lambda), t.run);
}

void AutoRecModel::fit_user_variant(const CsrMatrix& x, const Params& params, FitContext& ctx) {
  CsrMatrix fit_part, valid;
  carve_validation(x, params.get_float("validation"), ctx.seed, fit_part, valid);
  index_t raters = 0;
  for (index_t u = 0; u < fit_part.rows(); ++u) raters += fit_part.row_size(u) > 0 ? 1 : 0;
  neural::UserAutoencoderOptions o;
  o.name = "autorec (user)";
  o.hidden = 0;
  o.latent = params.get_int("hidden");
  o.activation = neural::Activation::kSigmoid;
  o.sigmoid_output = false;
  o.bce = false;
  o.masked = true;
  o.dropout = 0;
  o.epochs = static_cast<int>(params.get_int("epochs"));
  o.patience = static_cast<int>(params.get_int("patience"));
  o.batch_size = params.get_int("batch_size");
  o.learning_rate = params.get_float("learning_rate");
  // The paper's lambda/2 |W|^2 once per pass over the users, on a loss averaged per user in a
  // batch: Adam's weight decay lambda / users.
  o.l2 = params.get_float("lambda") / static_cast<double>(std::max<index_t>(raters, 1));
  o.rmse_validation = true;
  const CsrMatrix none = CsrMatrix::from_coordinates(
      x.rows(), 0, std::vector<index_t>{}, std::vector<index_t>{}, std::vector<float>{},
      std::vector<std::int64_t>{}, DedupPolicy::kLast);
  neural::TrainedNetwork net = neural::train_user_autoencoder(fit_part, none, valid, o, ctx);
  RECKON_ASSERT(net.encoder.layers().size() == 1 && net.decoder.layers().size() == 1);
  user_encoder_ = std::move(net.encoder);
  run_ = net.run;
  lambda_ = static_cast<float>(params.get_float("lambda"));
  // The items' factors [W_i, b_i]: the decoder's columns and biases.
  const neural::DenseLayer& out = net.decoder.layers().front();
  const Eigen::Index h = out.in;
  item_factors_.resize(x.cols(), h + 1);
  for (Eigen::Index i = 0; i < x.cols(); ++i) {
    for (Eigen::Index j = 0; j < h; ++j)
      item_factors_(i, j) = out.weight[static_cast<std::size_t>(j * out.out + i)];
    item_factors_(i, h) = out.bias[static_cast<std::size_t>(i)];
  }
  user_factors_.resize(x.rows(), h + 1);
  for (index_t u = 0; u < x.rows(); ++u) {
    UserContext c;
    c.history = x.row_indices(u);
    c.weights = x.row_values(u);
    user_factors_.row(u) = fold_in(c).transpose();
  }
  remember_history_sizes(x);
}

Eigen::VectorXf AutoRecModel::fold_in(const UserContext& user) const {
  if (user_encoder_.layers().empty()) return ItemCodeModel::fold_in(user);
  const index_t items = user_encoder_.inputs();
  std::vector<index_t> index;
  std::vector<float> value;
  neural::history_input(user.history, user.weights, mean_, items, index, value);
  Eigen::VectorXf v(user_encoder_.outputs() + 1);
  user_encoder_.forward_sparse(index, value,
                               std::span<float>(v.data(), static_cast<std::size_t>(v.size() - 1)));
  v[v.size() - 1] = 1.0f;
  return v;
}

nlohmann::json AutoRecModel::describe() const {
  nlohmann::json j = ItemCodeModel::describe();
  j["variant"] = user_encoder_.layers().empty() ? "item" : "user";
  return j;
}

void AutoRecModel::save_extra(BinaryWriter& w) const {
  ItemCodeModel::save_extra(w);
  const bool user = !user_encoder_.layers().empty();
  w.put<std::uint8_t>(user ? 1 : 0);
  if (user) user_encoder_.save(w);
}

void AutoRecModel::load_extra(BinaryReader& r) {
  ItemCodeModel::load_extra(r);
  user_encoder_ = neural::Mlp();
  if (r.at_end()) return;  // written before U-AutoRec: I-AutoRec
  const auto user = r.get<std::uint8_t>();
  RECKON_CHECK(user <= 1, "{}: corrupt autorec model (variant {})", r.what(), user);
  if (user == 0) return;
  user_encoder_ = neural::Mlp::load(r);
  RECKON_CHECK(user_encoder_.inputs() == item_factors_.rows() &&
                   user_encoder_.outputs() + 1 == item_factors_.cols(),
               "{}: corrupt autorec model: a user encoder {} -> {} for {} items with {} factors",
               r.what(), user_encoder_.inputs(), user_encoder_.outputs(), item_factors_.rows(),
               item_factors_.cols());
}

}  // namespace reckon
