#pragma once
// I-AutoRec (Sedhain et al., "AutoRec: Autoencoders Meet Collaborative Filtering", WWW 2015):
// each item's vector of ratings over the users goes through h = sigmoid(V r + mu) and back,
// r' = W h + b, fitted on the observed ratings only, with L2 on V and W. It predicts ratings.
// Trained on libtorch; scored as an item-code factor model (neural/item_codes.hpp).
#include "reckon/models/neural/item_codes.hpp"

namespace reckon {

class AutoRecModel final : public ItemCodeModel {
 public:
  static std::vector<ParamSpec> param_specs();
  std::string_view name() const noexcept override { return "autorec"; }
  void fit(const Dataset& train, const Params& params, FitContext& ctx) override;
};

}  // namespace reckon
