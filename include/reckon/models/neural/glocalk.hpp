#pragma once
// GLocal-K (Han et al., CIKM 2021): an item-based rating autoencoder whose layers' weights are
// multiplied by a local kernel (max(0, 1 - |u_i - v_j|^2) of learned embeddings), pre-trained on
// the rating matrix and fine-tuned on the matrix convolved with a global kernel made from the
// items' mean predicted ratings; the published hyper-parameters (ML-100K) are the defaults.
// Trained on libtorch; scored as an item-code factor model (neural/item_codes.hpp).
#include "reckon/models/neural/item_codes.hpp"

namespace reckon {

class GLocalKModel final : public ItemCodeModel {
 public:
  static std::vector<ParamSpec> param_specs();
  std::string_view name() const noexcept override { return "glocalk"; }
  void fit(const Dataset& train, const Params& params, FitContext& ctx) override;
};

}  // namespace reckon
