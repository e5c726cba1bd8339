#pragma once
// SASRec (Kang and McAuley, "Self-Attentive Sequential Recommendation", ICDM 2018): a causal
// transformer reads a user's history in time order and scores every item as the next one by the
// dot product of its output with the item's embedding (shared with the input). Trained on
// libtorch (RECKON_WITH_TORCH) with a full softmax over the catalogue, or the paper's binary
// cross-entropy against sampled negatives; scoring, saving and loading use the plain network
// (neural/transformer.hpp) and work in any build. A history with new events, or a stranger's
// favourites, is simply read forward: fold-in is the model itself.
#include "reckon/models/neural/sequence_model.hpp"
#include "reckon/models/neural/transformer.hpp"

namespace reckon {

class SasRecModel final : public neural::SequenceModel<neural::CausalTransformer> {
 public:
  static std::vector<ParamSpec> param_specs();
  std::string_view name() const noexcept override { return "sasrec"; }
  void fit(const Dataset& train, const Params& params, FitContext& ctx) override;
  std::vector<ScoredItem> similar_items(index_t item, std::size_t k) const override;

 protected:
  nlohmann::json network_description() const override;
};

}  // namespace reckon
