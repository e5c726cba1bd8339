#pragma once
// The first stage of the ranker: candidate generators, any registered models each proposing
// its top N for a user ("ials:100,itemknn:50,popular:20"). A candidate proposed by several is
// kept once, with every generator's score and rank beside it (NaN where one did not propose
// it): those are the second stage's first features.
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "reckon/models/model.hpp"

namespace reckon {

struct GeneratorSpec {
  std::string model;
  std::size_t count = 0;
};

// "ials:100,itemknn:50,popular:20" -> specs; each model registered, not the ranker itself,
// named once, with a count from 1 to 10000. Throws InvalidInput saying what is wrong.
std::vector<GeneratorSpec> parse_generators(std::string_view spec);

// One user's candidates: distinct items in the order first proposed, with a score and a rank
// (1 = best) per generator, row-major (items x generators), NaN where not proposed.
struct Candidates {
  std::vector<index_t> items;
  std::vector<float> scores;
  std::vector<float> ranks;
  void clear() {
    items.clear();
    scores.clear();
    ranks.clear();
  }
};

class CandidateGenerators {
 public:
  // Fits every generator on `data`; `params[model]` are its own parameters (text, as -p
  // model.key=value gave them), validated against its specs.
  void fit(std::vector<GeneratorSpec> specs,
           const std::map<std::string, std::map<std::string, std::string>>& params,
           const Dataset& data, FitContext& ctx);
  // The candidates of one user; the history is never proposed. Thread-safe.
  void propose(const UserContext& user, Candidates& out) const;

  std::size_t size() const noexcept { return generators_.size(); }
  const std::vector<GeneratorSpec>& specs() const noexcept { return specs_; }
  const Model& model(std::size_t g) const { return *generators_[g]; }

  void save(BinaryWriter& out) const;
  // Each generator's body is read by its own model's load(); a file naming the ranker as a
  // generator, an unknown model or an impossible count is refused.
  void load(BinaryReader& in);
  void validate(const Dataset& train) const;

 private:
  std::vector<GeneratorSpec> specs_;
  std::vector<std::unique_ptr<Model>> generators_;
  index_t num_items_ = 0;
};

}  // namespace reckon
