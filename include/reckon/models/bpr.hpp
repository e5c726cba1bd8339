#pragma once
// Bayesian Personalised Ranking (Rendle et al. 2009) with item biases, trained by multi-threaded
// lock-free SGD (Hogwild, Recht et al. 2011) over (user, seen item, unseen item) triples, the
// unseen item drawn uniformly or by popularity. Bit-for-bit reproducible with threads = 1.
#include "reckon/models/factor_model.hpp"

namespace reckon {

class BprModel final : public FactorModel {
 public:
  static std::vector<ParamSpec> param_specs();
  std::string_view name() const noexcept override { return "bpr"; }
  void fit(const Dataset& train, const Params& params, FitContext& ctx) override;

 protected:
  Eigen::VectorXf fold_in(const UserContext& user) const override;
  std::span<const float> item_biases() const override { return item_bias_; }
  void save_extra(BinaryWriter& out) const override;
  void load_extra(BinaryReader& in) override;
  void validate_extra(const Dataset& train) const override;

 private:
  std::vector<float> item_bias_;
  float learning_rate_ = 0.05f;
  float regularization_ = 0.0f;
};

}  // namespace reckon
