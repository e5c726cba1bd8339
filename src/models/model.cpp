#include "reckon/models/model.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>

#include "reckon/core/error.hpp"
#include "reckon/core/files.hpp"
#include "reckon/io/dataset_file.hpp"
#include "reckon/io/json.hpp"
#include "reckon/io/text.hpp"
#include "reckon/models/bpr.hpp"
#include "reckon/models/content.hpp"
#include "reckon/models/ease.hpp"
#include "reckon/models/hybrid.hpp"
#include "reckon/models/ials.hpp"
#include "reckon/models/knn.hpp"
#include "reckon/models/lightgcn.hpp"
#include "reckon/models/mf.hpp"
#include "reckon/models/neural/autorec.hpp"
#include "reckon/models/neural/dae.hpp"
#include "reckon/models/neural/glocalk.hpp"
#include "reckon/models/neural/gru4rec.hpp"
#include "reckon/models/neural/multvae.hpp"
#include "reckon/models/neural/sasrec.hpp"
#include "reckon/models/popular.hpp"
#include "reckon/models/random.hpp"
#include "reckon/rank/ranker.hpp"

namespace reckon {

std::vector<ScoredItem> Model::similar_items(index_t, std::size_t) const {
  throw NotSupported(fmt::format("model {} does not compute similar items", name()));
}

void Model::score_new_items(const UserContext&, std::span<const NewItemVector>,
                            std::span<float>) const {
  throw NotSupported(fmt::format("model {} cannot score items it was not trained on", name()));
}

std::vector<std::vector<FeatureContribution>> Model::explain(const UserContext&,
                                                            std::span<const index_t>,
                                                            std::size_t) const {
  throw NotSupported(fmt::format("model {} does not explain its scores (the ranker does)", name()));
}

std::vector<std::vector<HistoryContribution>> Model::explain_history(const UserContext&,
                                                                    std::span<const index_t>,
                                                                    std::size_t) const {
  throw NotSupported(fmt::format(
      "model {} does not explain its scores by the history (itemknn, ease and ials do)", name()));
}

std::vector<std::vector<HistoryContribution>> history_contributions(
    const UserContext& user, std::span<const index_t> items, std::size_t top,
    const std::function<float(std::size_t h, std::size_t k)>& term) {
  std::vector<std::vector<HistoryContribution>> out(items.size());
  for (std::size_t k = 0; k < items.size(); ++k) {
    // Per history item (an item given twice adds up: sorted by item, then merged; a long
    // history of a factor model has a term for every entry), then the largest `top`.
    std::vector<HistoryContribution> all;
    for (std::size_t h = 0; h < user.history.size(); ++h) {
      const float c = term(h, k);
      if (c != 0.0f && std::isfinite(c)) all.push_back({user.history[h], c});
    }
    std::sort(all.begin(), all.end(), [](const HistoryContribution& a, const HistoryContribution& b) {
      return a.item < b.item;
    });
    std::size_t merged = 0;
    for (std::size_t j = 0; j < all.size(); ++j) {
      if (merged > 0 && all[merged - 1].item == all[j].item)
        all[merged - 1].contribution += all[j].contribution;
      else
        all[merged++] = all[j];
    }
    all.resize(merged);
    const std::size_t n = std::min(top, all.size());
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(),
                      [](const HistoryContribution& a, const HistoryContribution& b) {
                        return a.contribution != b.contribution ? a.contribution > b.contribution
                                                                : a.item < b.item;
                      });
    all.resize(n);
    out[k] = std::move(all);
  }
  return out;
}

std::vector<ScoredItem> Model::similar_to_new_item(const NewItemVector&, std::size_t) const {
  throw NotSupported(fmt::format("model {} cannot place items it was not trained on", name()));
}

void Model::similar_items_batch(std::span<const index_t> items, std::size_t k,
                                std::vector<std::vector<ScoredItem>>& out) const {
  out.resize(items.size());
  for (std::size_t b = 0; b < items.size(); ++b) out[b] = similar_items(items[b], k);
}

void Model::score_batch(std::span<const UserContext> users, std::span<float> out) const {
  if (users.empty()) return;
  const std::size_t n = out.size() / users.size();
  RECKON_ASSERT(n * users.size() == out.size());
  for (std::size_t b = 0; b < users.size(); ++b) score(users[b], out.subspan(b * n, n));
}

std::span<const ModelInfo> registered_models() {
  static const std::vector<ModelInfo> models = {
      {"random", "uniformly random scores: the floor every model must beat",
       RandomModel::param_specs(), [] { return std::make_unique<RandomModel>(); }},
      {"popular", "most interacted-with items in training (optionally in a recent window)",
       PopularModel::param_specs(), [] { return std::make_unique<PopularModel>(); }},
      {"ials", "implicit ALS with confidence weights (conjugate gradient or Cholesky)",
       IalsModel::param_specs(), [] { return std::make_unique<IalsModel>(); }},
      {"itemknn",
       "item-item neighbours (cosine, asymmetric cosine, Jaccard; BM25/TF-IDF; shrinkage)",
       ItemKnnModel::param_specs(), [] { return std::make_unique<ItemKnnModel>(); }},
      {"userknn", "user-user neighbours found from the history at scoring time",
       UserKnnModel::param_specs(), [] { return std::make_unique<UserKnnModel>(); }},
      {"bpr",
       "BPR matrix factorisation with item biases, Hogwild SGD, uniform or popularity negatives",
       BprModel::param_specs(), [] { return std::make_unique<BprModel>(); }},
      {"lightgcn",
       "LightGCN: embeddings propagated over the normalised user-item graph, BPR with Adam "
       "(Eigen, no libtorch); a new history folded in by one propagation step",
       LightGcnModel::param_specs(), [] { return std::make_unique<LightGcnModel>(); }},
      {"mf",
       "explicit-rating MF with biases (Bayesian by Gibbs sampling, SGD or ALS), predicts ratings",
       MfModel::param_specs(), [] { return std::make_unique<MfModel>(); }},
      {"svdpp",
       "SVD++: rating MF with implicit feedback from what the user rated (Bayesian or SGD)",
       SvdppModel::param_specs(), [] { return std::make_unique<SvdppModel>(); }},
      {"ease", "EASE: closed-form item-item regression (Steck 2019), dense, memory-checked",
       EaseModel::param_specs(), [] { return std::make_unique<EaseModel>(); }},
      {"content",
       "content-based: TF-IDF vectors of item labels and text, user profile = weighted mean",
       ContentModel::param_specs(), [] { return std::make_unique<ContentModel>(); }},
      {"hybrid",
       "LightFM-style hybrid MF: users and items are sums of id and feature embeddings (WARP, "
       "BPR, logistic; cold items and users from their features)",
       HybridModel::param_specs(), [] { return std::make_unique<HybridModel>(); }},
      {"multvae",
       "Mult-VAE / Mult-DAE: a variational (or denoising) autoencoder over a user's clicks with "
       "a multinomial likelihood; early stopping on held-out users; trains on libtorch",
       MultVaeModel::param_specs(), [] { return std::make_unique<MultVaeModel>(); }, true},
      {"dae",
       "the movie seed's denoising autoencoder over a user's ratings and features (age, gender, "
       "occupation, ...), MSE or BCE, masked or not; strangers from features; trains on libtorch",
       DaeModel::param_specs(), [] { return std::make_unique<DaeModel>(); }, true},
      {"sasrec",
       "SASRec: a causal transformer over the history in time order scores the next item "
       "(full softmax or sampled BCE); new events are read forward; trains on libtorch",
       SasRecModel::param_specs(), [] { return std::make_unique<SasRecModel>(); }, true},
      {"gru4rec",
       "GRU4Rec: a GRU over the history in time order scores the next item; session-parallel "
       "mini-batches, full softmax, cross-entropy or BPR-max with sampled negatives; trains on "
       "libtorch",
       Gru4RecModel::param_specs(), [] { return std::make_unique<Gru4RecModel>(); }, true},
      {"autorec",
       "I-AutoRec: an autoencoder over each item's ratings by the users, predicts ratings; "
       "users folded in by ridge regression on the item codes; trains on libtorch",
       AutoRecModel::param_specs(), [] { return std::make_unique<AutoRecModel>(); }, true},
      {"glocalk",
       "GLocal-K: an item-based rating autoencoder with local kernels, fine-tuned with a global "
       "convolution kernel (published defaults); predicts ratings; trains on libtorch",
       GLocalKModel::param_specs(), [] { return std::make_unique<GLocalKModel>(); }, true},
      {"ranker",
       "second stage: XGBoost LambdaMART over candidates from other models (ials:100, "
       "itemknn:50, popular:20) with their scores, activity, popularity, genres, demographics, "
       "time and content features; explains its scores",
       RankerModel::param_specs(), [] { return std::make_unique<RankerModel>(); }},
  };
  return models;
}

const ModelInfo& find_model(std::string_view name) {
  for (const auto& m : registered_models())
    if (m.name == name) return m;
  std::string names;
  for (const auto& m : registered_models()) names += (names.empty() ? "" : ", ") + m.name;
  throw InvalidInput(fmt::format("unknown model \"{}\" (known: {})", name, names));
}

std::unique_ptr<Model> make_model(std::string_view name) { return find_model(name).create(); }

TrainedModel train_model(std::string_view name, std::shared_ptr<const Dataset> train,
                         const std::map<std::string, std::string>& params, FitContext& ctx) {
  const ModelInfo& info = find_model(name);
  TrainedModel t;
  t.params = Params::resolve(name, info.params, params);
  t.model = info.create();
  t.train = std::move(train);
  const auto t0 = std::chrono::steady_clock::now();
  t.model->fit(*t.train, t.params, ctx);
  t.fit_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return t;
}

namespace {
constexpr std::string_view kMagic = "RECKONMD";
static_assert(kModelFormatVersion == kDatasetFormatVersion,
              "a model file embeds the dataset format of its own number");
}

void save_model_file(const TrainedModel& t, const std::filesystem::path& path) {
  // The embedded training data is length-prefixed: its length comes from a first pass that
  // counts its bytes, so that the body streams to the file without being held in memory.
  // Format 2's dataset starts aligned, so its padding is the same in both passes.
  t.train->validate();
  std::uint64_t dataset_bytes = 0;
  {
    BinaryWriter counter([&](std::string_view bytes) { dataset_bytes += bytes.size(); });
    write_dataset(counter, *t.train, kDatasetFormatVersion);
    counter.flush();
  }
  write_checked_file(path, kMagic, kModelFormatVersion,
                     {static_cast<std::uint64_t>(t.train->num_users()),
                      static_cast<std::uint64_t>(t.train->num_items())},
                     [&](BinaryWriter& w) {
                       w.put_string(t.model->name());
                       w.put_string(t.params.to_json().dump());
                       w.put<double>(t.fit_seconds);
                       w.put<std::uint64_t>(dataset_bytes);
                       w.align();
                       const std::size_t before = w.size();
                       write_dataset(w, *t.train, kDatasetFormatVersion);
                       RECKON_ASSERT(w.size() - before == dataset_bytes);
                       t.model->save(w);
                     });
}

TrainedModel load_model_file(const std::filesystem::path& path, FileAccess access) {
  CheckedFile file = read_checked_file(path, kMagic, kModelFormatVersion, "reckon model (.rkm)");
  // Without an owner, decode copies every array and the map goes when `file` does.
  return decode_model(file.body, path.string(), file.version,
                      access == FileAccess::in_place ? file.storage : nullptr);
}

TrainedModel decode_model(std::string_view body, const std::string& what, std::uint32_t version,
                          const std::shared_ptr<const void>& owner) {
  RECKON_CHECK(version >= 1 && version <= kModelFormatVersion,
               "{}: model format version {} is not known", what, version);
  const std::filesystem::path path = what;
  BinaryReader r(body, what);
  const std::string name = r.get_string();
  TrainedModel t;
  try {
    t.model = make_model(name);
  } catch (const InvalidInput&) {
    throw InvalidInput(
        fmt::format("{}: model \"{}\" is not known to this reckon", path.string(), excerpt(name)));
  }
  try {
    auto params = parse_json(r.get_string());
    if (!params) throw InvalidInput("params");
    t.params = Params::from_json(*params);
  } catch (const nlohmann::json::exception&) {
    throw InvalidInput(fmt::format("{}: corrupt model parameters", path.string()));
  } catch (const InvalidInput&) {
    throw InvalidInput(fmt::format("{}: corrupt model parameters", path.string()));
  }
  t.fit_seconds = r.get<double>();
  const auto dataset_bytes = r.get<std::uint64_t>();
  // Model format N embeds dataset format N; from 2 on, aligned from the start of the body.
  if (version >= 2) r.skip_alignment();
  const std::string_view data = r.get_bytes(dataset_bytes);
  t.train = std::make_shared<const Dataset>(decode_dataset(data, path.string(), version, owner));
  t.model->load(r);
  RECKON_CHECK(r.at_end(), "{}: corrupt model file (trailing bytes)", path.string());
  try {
    t.model->validate(*t.train);
  } catch (const InvalidInput& e) {
    throw InvalidInput(fmt::format("{}: corrupt model: {}", path.string(), e.what()));
  }
  return t;
}

}  // namespace reckon
