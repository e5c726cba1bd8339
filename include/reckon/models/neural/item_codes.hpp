#pragma once
// What the item-based rating autoencoders (autorec, glocalk) have in common once trained: each
// item's code (the last hidden layer for its vector of ratings over the users) and each user's
// output row make a factor model, r'_ui = w_u . h_i + b_u. The rows are solved exactly for the
// final codes by the ridge regression training approximates (L2 weight lambda/2), so a user
// with new ratings or a stranger gets their row the same way as a training user: fold-in,
// batch scoring and similar items (cosine of the codes) come from FactorModel.
#include "reckon/models/factor_model.hpp"
#include "reckon/models/neural/mlp.hpp"

namespace reckon {

class ItemCodeModel : public FactorModel {
 public:
  bool predicts_ratings() const noexcept override { return true; }
  nlohmann::json describe() const override;

 protected:
  // The ratings of `x` with a random `share` held out to stop on (never the test set); sets
  // mean_.
  void carve_validation(const CsrMatrix& x, double share, std::uint64_t seed, CsrMatrix& fit,
                        CsrMatrix& valid);
  // Takes the trained codes (items x hidden, row-major) and solves every user's row.
  void set_codes(const std::vector<float>& codes, index_t hidden, const CsrMatrix& x,
                 float lambda, const neural::TrainingRun& run);
  Eigen::VectorXf fold_in(const UserContext& user) const override;
  void save_extra(BinaryWriter& w) const override;
  void load_extra(BinaryReader& r) override;

  float lambda_ = 1;  // the rows' L2 weight
  float mean_ = 0;    // mean training rating: the rating of a history given without ratings
  neural::TrainingRun run_;
};

}  // namespace reckon
