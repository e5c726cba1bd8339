#pragma once
// Explicit-rating matrix factorisation with biases, predicting ratings:
//   mf:    r_ui = mu + b_u + b_i + p_u . q_i                                  (Koren et al. 2009)
//   svdpp: r_ui = mu + b_u + b_i + q_i . (p_u + |N(u)|^-1/2 sum_{j in N(u)} y_j)  (Koren 2008)
// mf's solvers: Bayesian (Gibbs sampling, mf_gibbs), parallel blocked SGD with AdaGrad steps
// (mf_sgd) and ALS; svdpp's: Bayesian and SGD over each user's ratings with a decaying step.
// `reckon evaluate` reports RMSE and MAE for them.
#include "reckon/models/factor_model.hpp"

namespace reckon {

class MfModel : public FactorModel {
 public:
  static std::vector<ParamSpec> param_specs();
  std::string_view name() const noexcept override { return "mf"; }
  void fit(const Dataset& train, const Params& params, FitContext& ctx) override;
  bool predicts_ratings() const noexcept override { return true; }
  // Each history rating's part in an item's score through the fold-in solve (and, for svdpp,
  // through its implicit factor too): the terms add up to the folded-in user's dot product.
  std::vector<std::vector<HistoryContribution>> explain_history(
      const UserContext& user, std::span<const index_t> items, std::size_t top) const override;

 protected:
  Eigen::VectorXf fold_in(const UserContext& user) const override;
  // History entry h's share of the implicit part of a folded-in user (svdpp: y_h / sqrt(n));
  // empty for mf, which has none.
  virtual Eigen::VectorXf implicit_term(const UserContext& user, std::size_t h) const {
    (void)user, (void)h;
    return {};
  }
  std::span<const float> item_biases() const override { return item_bias_; }
  float user_offset(const UserContext& user) const override { return mu_ + user_bias(user); }
  void save_extra(BinaryWriter& out) const override;
  void load_extra(BinaryReader& in) override;
  void validate_extra(const Dataset& train) const override;
  // Mean rating, zero biases, random factors, history sizes: what both fits start from.
  void initialise(const CsrMatrix& train, Eigen::Index factors, const Params& params,
                  const FitContext& ctx);
  // The user's bias: learned for a known, unchanged user; estimated from the history otherwise.
  float user_bias(const UserContext& user) const;
  bool known_unchanged(const UserContext& user) const;
  // Ridge regression of the history's rating residuals (after biases and `offset . q_i`) on the
  // item factors: the explicit part of a folded-in user.
  Eigen::VectorXf ridge_fold_in(const UserContext& user, const Eigen::VectorXf& offset) const;

  float mu_ = 0;
  std::vector<float> user_bias_, item_bias_;
  float regularization_ = 0.05f;
};

class SvdppModel final : public MfModel {
 public:
  static std::vector<ParamSpec> param_specs();
  std::string_view name() const noexcept override { return "svdpp"; }
  void fit(const Dataset& train, const Params& params, FitContext& ctx) override;

 protected:
  Eigen::VectorXf fold_in(const UserContext& user) const override;
  Eigen::VectorXf implicit_term(const UserContext& user, std::size_t h) const override;
  void save_extra(BinaryWriter& out) const override;
  void load_extra(BinaryReader& in) override;
  void validate_extra(const Dataset& train) const override;

 private:
  // p_u + |N(u)|^-1/2 sum y_j for a history.
  Eigen::VectorXf implicit_part(std::span<const col_t> history) const;
  FactorMatrix y_;  // implicit item factors
};

}  // namespace reckon
