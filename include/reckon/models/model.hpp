#pragma once
// The one model interface. Every model scores from a history, so a known user, a user with new
// events and a stranger with a few favourites all go through score().
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "reckon/core/binary_io.hpp"
#include "reckon/core/dataset.hpp"
#include "reckon/core/files.hpp"
#include "reckon/models/params.hpp"

namespace reckon {

// Who we recommend for.
struct UserContext {
  std::optional<index_t> user;             // known training user, if any
  std::span<const col_t> history;          // items, in the order given (training + new events)
  std::span<const float> weights;          // same length as history (may be empty: all 1)
  std::span<const std::int64_t> times;     // same length, or empty
  const FeatureTable* features = nullptr;  // user features table, with...
  index_t feature_row = -1;                // ...the row of this user, or -1
  // The request's moment (unix seconds: /recommend?at=, or in evaluation the user's first test
  // interaction); models with time features (the ranker) use it, the others ignore it.
  std::optional<std::int64_t> at;
  // The training items' metadata, where the caller has it (serving, recommend --explain): what
  // a model that explains a score by the item's features (hybrid) reads.
  const FeatureTable* item_features = nullptr;
};

// One feature's part in an item's score (the ranker's SHAP contributions): the feature, its
// value for this user and item, and what it added to the score.
struct FeatureContribution {
  std::string feature;
  float value = 0;
  float contribution = 0;
};

// One history item's part in an item's score ("because you liked X"): the item (a training item
// index) and what its terms of the score add up to.
struct HistoryContribution {
  index_t item = -1;
  float contribution = 0;
};

// What fit() may use besides the data: seed, threads, a way to report progress.
class Model;

struct FitContext {
  std::uint64_t seed = 42;
  int threads = 0;  // 0 = all cores
  bool verbose = true;
  // Called after each epoch, by the models that train in epochs and can score mid-way
  // (lightgcn), with the model as it would be if training stopped there and the minutes trained
  // so far. For benchmarks that draw a curve (bench_lightgcn_curve's test recall, which chooses
  // nothing); the time spent in it is left out of the model's own clock (max_minutes).
  std::function<void(const Model& now, int epoch, double minutes)> on_epoch;
};

// An item the model was not trained on, placed by its features alone (a new book with its
// author and tags, from PUT /items): its vector in the model's own space, and a bias.
struct NewItemVector {
  std::vector<float> values;  // dense (hybrid: the factors) ...
  std::vector<col_t> features;    // ...or sparse: feature indexes with `values` (content)
  float bias = 0;
};

class Model {
 public:
  virtual ~Model() = default;
  virtual std::string_view name() const noexcept = 0;
  virtual void fit(const Dataset& train, const Params& params, FitContext& ctx) = 0;
  // One score per item (out.size() == number of items); higher is better. Must be thread-safe.
  virtual void score(const UserContext& user, std::span<float> out) const = 0;
  // Scores several users at once: row b of `out` (users.size() x items, row-major) holds
  // users[b]'s scores. Factor models override this with one matrix product, which reads the item
  // factors once per batch instead of once per user. Default: score() per user.
  // Whether the model reads a history as an ordered sequence with its repeats (sasrec,
  // gru4rec): evaluation and serving then give it a user's events (Dataset::events) where the
  // data kept them, instead of the merged matrix row.
  virtual bool reads_event_history() const noexcept { return false; }
  virtual void score_batch(std::span<const UserContext> users, std::span<float> out) const;
  // The top k items of each user's catalogue minus their history, best first, when the model
  // has a faster way than scoring every item and selecting (factor models: tiled inner
  // products). Same lists as score() + top_k(). Returns false when it has none.
  virtual bool top_k_batch(std::span<const UserContext> users, std::size_t k,
                           std::vector<std::vector<ScoredItem>>& out) const {
    (void)users, (void)k, (void)out;
    return false;
  }
  // True when the model personalises for this user without any history (from their features:
  // demographics); otherwise such a user gets the popularity fallback on every path.
  virtual bool scores_without_history(const UserContext& user) const {
    (void)user;
    return false;
  }
  // A new item from row `row` of `features` (columns named as the training items'), for the
  // models that score items by their features; nullopt for the others (and for an item none of
  // whose features the model knows).
  virtual std::optional<NewItemVector> embed_new_item(const FeatureTable& features,
                                                      index_t row) const {
    (void)features, (void)row;
    return std::nullopt;
  }
  // The scores of new items for a user, on score()'s scale (default: NotSupported).
  virtual void score_new_items(const UserContext& user, std::span<const NewItemVector> items,
                               std::span<float> out) const;
  // The training items most similar to a new item, best first (default: NotSupported).
  virtual std::vector<ScoredItem> similar_to_new_item(const NewItemVector& item,
                                                      std::size_t k) const;
  // Why each of `items` scored as it did for this user: the features that moved its score most,
  // largest first, at most `top` each (empty for an item placed without its features).
  // Default: NotSupported.
  virtual std::vector<std::vector<FeatureContribution>> explain(const UserContext& user,
                                                                std::span<const index_t> items,
                                                                std::size_t top) const;
  // Why each of `items` scored as it did, by the user's history: the history items whose terms
  // of the score add up to most, largest first, at most `top` each (models whose score is a sum
  // over the history: itemknn, ease; ials, mf and svdpp by their fold-in). Default: NotSupported.
  virtual std::vector<std::vector<HistoryContribution>> explain_history(
      const UserContext& user, std::span<const index_t> items, std::size_t top) const;
  // What `reckon info MODEL.rkm` shows beyond the parameters (the ranker: generators, feature
  // groups, importance). Default: nothing.
  virtual nlohmann::json describe() const { return nlohmann::json::object(); }
  // True when UserContext::at changes the scores, so a list computed without it is stale.
  virtual bool uses_request_time() const noexcept { return false; }
  // True when score() returns predicted ratings on the data's scale (RMSE/MAE make sense).
  virtual bool predicts_ratings() const noexcept { return false; }
  virtual void save(BinaryWriter& out) const = 0;
  virtual void load(BinaryReader& in) = 0;
  // Checks that what load() read agrees with the training data saved beside it (array sizes,
  // user and item indexes); throws InvalidInput otherwise. The file's checksum stops accidents,
  // not a crafted file: a model that disagrees with its data is refused here, before any read.
  virtual void validate(const Dataset& train) const = 0;
  // Up to k items most similar to `item`, best first, without `item` (default: NotSupported).
  virtual std::vector<ScoredItem> similar_items(index_t item, std::size_t k) const;
  // similar_items() for many items (the service fills its similar-item lists with it). Factor
  // models override it with tiled products over normalised factors. Default: one by one.
  virtual void similar_items_batch(std::span<const index_t> items, std::size_t k,
                                   std::vector<std::vector<ScoredItem>>& out) const;
};

struct ModelInfo {
  std::string name;
  std::string summary;
  std::vector<ParamSpec> params;
  std::function<std::unique_ptr<Model>()> create;
  // Trains on libtorch: fit() throws NotSupported in a build without it (neural/availability.hpp).
  bool trains_on_torch = false;
};

// explain_history() for a model whose score is a sum of terms over the history: `term(h, k)` is
// the part of history entry h (user.history[h]) in the score of items[k].
std::vector<std::vector<HistoryContribution>> history_contributions(
    const UserContext& user, std::span<const index_t> items, std::size_t top,
    const std::function<float(std::size_t h, std::size_t k)>& term);

// The one explicit registry.
std::span<const ModelInfo> registered_models();
// Throws InvalidInput listing the known names.
const ModelInfo& find_model(std::string_view name);
std::unique_ptr<Model> make_model(std::string_view name);

// A trained model with what serving and evaluation need: the training data (ids, histories,
// features) and the parameters it was fitted with.
struct TrainedModel {
  std::unique_ptr<Model> model;
  Params params;
  std::shared_ptr<const Dataset> train;
  double fit_seconds = 0;
};

// Resolves parameters and fits.
TrainedModel train_model(std::string_view name, std::shared_ptr<const Dataset> train,
                         const std::map<std::string, std::string>& params, FitContext& ctx);

// Version 2 (0.16.0) embeds the training data aligned (.rkd format 2), so that loading a model
// views its interactions in the file's memory map; version 1 files still load, by copy. Version 3
// (0.18.0) embeds .rkd format 3 (32-bit item indexes). Model format N embeds dataset format N.
inline constexpr std::uint32_t kModelFormatVersion = 3;
// .rkm: magic, format version, model name, parameters, training data, the model's own body.
void save_model_file(const TrainedModel& model, const std::filesystem::path& path);
// `access`: the training data viewed in the file's map (commands), or copied (the service).
TrainedModel load_model_file(const std::filesystem::path& path,
                             FileAccess access = FileAccess::in_place);
// The body of a .rkm file of format `version` (after its checked header), `what` naming it in
// messages: every size and index is checked here, not trusted to the checksum (the fuzz target
// calls this directly). `owner` keeps `body` alive for views into it (see decode_dataset).
TrainedModel decode_model(std::string_view body, const std::string& what,
                          std::uint32_t version = 1,
                          const std::shared_ptr<const void>& owner = {});

}  // namespace reckon
