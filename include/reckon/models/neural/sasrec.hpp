#pragma once
// SASRec (Kang and McAuley, "Self-Attentive Sequential Recommendation", ICDM 2018): a causal
// transformer reads a user's history in time order and scores every item as the next one by the
// dot product of its output with the item's embedding (shared with the input). Trained on
// libtorch (RECKON_WITH_TORCH) with a full softmax over the catalogue, or the paper's binary
// cross-entropy against sampled negatives; scoring, saving and loading use the plain network
// (neural/transformer.hpp) and work in any build. A history with new events, or a stranger's
// favourites, is simply read forward: fold-in is the model itself.
#include "reckon/models/model.hpp"
#include "reckon/models/neural/mlp.hpp"
#include "reckon/models/neural/transformer.hpp"

namespace reckon {

class SasRecModel final : public Model {
 public:
  static std::vector<ParamSpec> param_specs();
  std::string_view name() const noexcept override { return "sasrec"; }
  void fit(const Dataset& train, const Params& params, FitContext& ctx) override;
  void score(const UserContext& user, std::span<float> out) const override;
  std::vector<ScoredItem> similar_items(index_t item, std::size_t k) const override;
  nlohmann::json describe() const override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;
  void validate(const Dataset& train) const override;

 private:
  neural::CausalTransformer net_;
  neural::TrainingRun run_;
};

}  // namespace reckon
