#pragma once
// Implicit ALS (Hu, Koren, Volinsky 2008): confidence c = 1 + alpha * r on observed pairs, 1 on
// the rest, squared loss with L2 regularisation. Each half-step solves one least-squares problem
// per user (item) with a few conjugate-gradient steps warm-started from the previous factors
// (Takacs et al. 2011, as in the implicit library), or exactly with a Cholesky factorisation.
#include <Eigen/Core>

#include "reckon/models/factor_model.hpp"

namespace reckon {

class IalsModel final : public FactorModel {
 public:
  static std::vector<ParamSpec> param_specs();
  std::string_view name() const noexcept override { return "ials"; }
  void fit(const Dataset& train, const Params& params, FitContext& ctx) override;
  // By the fold-in: x = A^-1 sum_h c_h y_h, so item i's score splits into c_h y_i^T A^-1 y_h per
  // history entry (exact for the folded-in vector; a training user's stored vector is close).
  std::vector<std::vector<HistoryContribution>> explain_history(
      const UserContext& user, std::span<const index_t> items, std::size_t top) const override;

 protected:
  Eigen::VectorXf fold_in(const UserContext& user) const override;
  void save_extra(BinaryWriter& out) const override;
  void load_extra(BinaryReader& in) override;

 private:
  // The fold-in's normal equations for this history: A (lower triangle) and b.
  void normal_equations(const UserContext& user, Eigen::MatrixXf& a, Eigen::VectorXf& b) const;

  float alpha_ = 1.0f;
  float regularization_ = 0.01f;
  float reg_exponent_ = 0.0f;
  Eigen::MatrixXf yty_;  // item_factors' Gram matrix, for fold-in
};

}  // namespace reckon
