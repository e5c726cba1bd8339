#pragma once
// I-AutoRec (Sedhain et al., "AutoRec: Autoencoders Meet Collaborative Filtering", WWW 2015):
// each item's vector of ratings over the users goes through h = sigmoid(V r + mu) and back,
// r' = W h + b, fitted on the observed ratings only, with L2 on V and W. It predicts ratings.
// Trained on libtorch; scored as an item-code factor model (neural/item_codes.hpp).
//
// U-AutoRec (variant=user), the paper's other form: each user's vector of ratings over the
// items goes through h_u = sigmoid(V r_u + mu) and back, r'_u = W h_u + b. Still a factor model:
// the user's factors are [h_u, 1] (the encoder run on the history: a stranger or a changed user
// is folded in by a forward pass), the items' are [W_i, b_i].
#include "reckon/models/neural/item_codes.hpp"

namespace reckon {

class AutoRecModel final : public ItemCodeModel {
 public:
  static std::vector<ParamSpec> param_specs();
  std::string_view name() const noexcept override { return "autorec"; }
  void fit(const Dataset& train, const Params& params, FitContext& ctx) override;
  nlohmann::json describe() const override;

 protected:
  Eigen::VectorXf fold_in(const UserContext& user) const override;
  void save_extra(BinaryWriter& w) const override;
  void load_extra(BinaryReader& r) override;

 private:
  void fit_user_variant(const CsrMatrix& x, const Params& params, FitContext& ctx);
  neural::Mlp user_encoder_;  // U-AutoRec: items -> hidden (sigmoid); empty for I-AutoRec
};

}  // namespace reckon
