#pragma once
// I-AutoRec (Sedhain et al., "AutoRec: Autoencoders Meet Collaborative Filtering", WWW 2015):
// each item's vector of ratings over the users goes through h = sigmoid(V r + mu) and back,
// r' = W h + b, fitted on the observed ratings only, with L2 on V and W. It predicts ratings.
// After training, item i's code h_i and user u's output row (W_u, b_u) make it a factor model:
// r'_ui = W_u . h_i + b_u. A user with new ratings, or a stranger, gets their row by the same
// ridge regression on the codes of the items they rated that training minimises, so fold-in,
// batch scoring and similar items (cosine of codes) come from FactorModel. Trains on libtorch.
#include "reckon/models/factor_model.hpp"
#include "reckon/models/neural/mlp.hpp"

namespace reckon {

class AutoRecModel final : public FactorModel {
 public:
  static std::vector<ParamSpec> param_specs();
  std::string_view name() const noexcept override { return "autorec"; }
  void fit(const Dataset& train, const Params& params, FitContext& ctx) override;
  bool predicts_ratings() const noexcept override { return true; }

  nlohmann::json describe() const override;

 protected:
  Eigen::VectorXf fold_in(const UserContext& user) const override;
  void save_extra(BinaryWriter& w) const override;
  void load_extra(BinaryReader& r) override;

 private:
  float lambda_ = 1;  // the L2 weight of training (fold-in solves the same problem)
  float mean_ = 0;    // mean training rating: the rating of a history given without ratings
  neural::TrainingRun run_;
};

}  // namespace reckon
