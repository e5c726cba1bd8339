#pragma once
// What the sequence models (sasrec, gru4rec) share once trained: a plain network that scores
// every item after a history read in time order, how its training went, and the model-file
// body (the network, then the run). `Network` has items, max_len, score(sequence, out),
// save(w) and a static load(r) that checks what it reads.
#include <spdlog/fmt/fmt.h>

#include "reckon/core/error.hpp"
#include "reckon/models/model.hpp"
#include "reckon/models/neural/mlp.hpp"
#include "reckon/models/neural/sequence.hpp"

namespace reckon::neural {

template <typename Network>
class SequenceModel : public Model {
 public:
  void score(const UserContext& user, std::span<float> out) const override {
    net_.score(history_sequence(user, net_.items, static_cast<std::size_t>(net_.max_len)), out);
  }
  bool reads_event_history() const noexcept override { return true; }
  nlohmann::json describe() const override {
    return {{"network", network_description()},
            {"training", describe_run(run_, fmt::format("validation_ndcg@{}", run_.validation_k))}};
  }
  void save(BinaryWriter& w) const override {
    net_.save(w);
    w.put(run_);
  }
  void load(BinaryReader& r) override {
    net_ = Network::load(r);
    run_ = r.get<TrainingRun>();  // shown by `reckon info` only
  }
  void validate(const Dataset& train) const override {
    RECKON_CHECK(net_.items == train.num_items(), "{} model has {} items, the data has {}",
                 name(), net_.items, train.num_items());
  }

 protected:
  // The network's shape for `reckon info`.
  virtual nlohmann::json network_description() const = 0;

  Network net_;
  TrainingRun run_;
};

}  // namespace reckon::neural
