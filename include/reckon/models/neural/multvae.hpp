#pragma once
// Mult-VAE and Mult-DAE (Liang et al., "Variational Autoencoders for Collaborative Filtering",
// WWW 2018): a user's clicks (binary, L2-normalised, dropout on the input) go through an encoder
// [items -> hidden -> latent] and a decoder [latent -> hidden -> items] whose softmax is fitted
// to the clicks (multinomial likelihood); the VAE adds a KL term annealed from 0 to anneal_cap.
// Scoring runs a history forward (the mean of the latent code), so a new or changed user is
// folded in by construction. Trained on libtorch (RECKON_WITH_TORCH); scoring, saving and
// loading use the plain network (neural/mlp.hpp) and work in any build.
#include "reckon/models/model.hpp"
#include "reckon/models/neural/mlp.hpp"

namespace reckon {

class MultVaeModel final : public Model {
 public:
  static std::vector<ParamSpec> param_specs();
  std::string_view name() const noexcept override { return "multvae"; }
  void fit(const Dataset& train, const Params& params, FitContext& ctx) override;
  void score(const UserContext& user, std::span<float> out) const override;
  void score_batch(std::span<const UserContext> users, std::span<float> out) const override;
  std::vector<ScoredItem> similar_items(index_t item, std::size_t k) const override;
  nlohmann::json describe() const override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;
  void validate(const Dataset& train) const override;

 private:
  // The encoder's input for a history: 1/sqrt(distinct items) on each distinct item.
  void encode_input(const UserContext& user, std::vector<index_t>& index,
                    std::vector<float>& value) const;

  neural::Mlp encoder_;  // items -> ... -> latent mean
  neural::Mlp decoder_;  // latent -> ... -> item logits
  neural::TrainingRun run_;
};

}  // namespace reckon
