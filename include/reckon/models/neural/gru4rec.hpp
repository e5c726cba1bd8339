#pragma once
// GRU4Rec (Hidasi et al., ICLR 2016; the improved recipe of Hidasi and Karatzoglou, CIKM 2018):
// a GRU reads a session (or a user's history) in time order and scores the next item. Trained
// on libtorch with session-parallel mini-batches (each slot of a batch walks one sequence a step
// at a time, its state carried over and reset when a new sequence takes the slot), by
// cross-entropy over the whole catalogue, or cross-entropy or BPR-max over the batch's other
// targets plus sampled negatives. Scoring, saving and loading use the plain network
// (neural/gru.hpp) in any build; new events are simply read forward.
#include "reckon/models/neural/gru.hpp"
#include "reckon/models/neural/sequence_model.hpp"

namespace reckon {

class Gru4RecModel final : public neural::SequenceModel<neural::GruNetwork> {
 public:
  static std::vector<ParamSpec> param_specs();
  std::string_view name() const noexcept override { return "gru4rec"; }
  void fit(const Dataset& train, const Params& params, FitContext& ctx) override;
  std::vector<ScoredItem> similar_items(index_t item, std::size_t k) const override;

 protected:
  nlohmann::json network_description() const override;
};

}  // namespace reckon
