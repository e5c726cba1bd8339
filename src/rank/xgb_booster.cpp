#include "reckon/rank/xgb_booster.hpp"

#include <fmt/format.h>
#include <xgboost/c_api.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "reckon/core/error.hpp"
#include "reckon/io/json.hpp"

namespace reckon {
namespace {

void check(int rc, std::string_view what) {
  if (rc != 0) throw Error(fmt::format("xgboost: {}: {}", what, XGBGetLastError()));
}

// XGBoost logs warnings to stdout; reckon reports through its own log.
void quiet_once() {
  static const bool done = [] {
    XGBSetGlobalConfig(R"({"verbosity": 0})");
    return true;
  }();
  (void)done;
}

struct DMatrix {
  DMatrixHandle h = nullptr;
  DMatrix(const RankRows& r, int threads) {
    check(XGDMatrixCreateFromMat_omp(r.features.data(), r.rows(), r.num_features,
                                     std::numeric_limits<float>::quiet_NaN(), &h, threads),
          "creating the training matrix");
    check(XGDMatrixSetFloatInfo(h, "label", r.labels.data(), r.rows()), "setting labels");
    check(XGDMatrixSetUIntInfo(h, "group", r.group_sizes.data(), r.group_sizes.size()),
          "setting groups");
  }
  DMatrix(std::span<const float> rows, std::size_t n, std::size_t cols) {
    check(XGDMatrixCreateFromMat_omp(rows.data(), n, cols, std::numeric_limits<float>::quiet_NaN(),
                                     &h, 1),
          "creating a matrix");
  }
  ~DMatrix() {
    if (h) XGDMatrixFree(h);
  }
  DMatrix(const DMatrix&) = delete;
  DMatrix& operator=(const DMatrix&) = delete;
};

// "[3]\tvalid-ndcg@10:0.51234" -> 0.51234
double parse_eval(const char* text) {
  const std::string_view s(text);
  const auto colon = s.rfind(':');
  if (colon == std::string_view::npos) return std::numeric_limits<double>::quiet_NaN();
  return std::strtod(std::string(s.substr(colon + 1)).c_str(), nullptr);
}

std::string array_interface(const float* data, std::size_t rows, std::size_t cols) {
  return fmt::format(R"({{"data": [{}, true], "shape": [{}, {}], "typestr": "<f4", "version": 3}})",
                     reinterpret_cast<std::uintptr_t>(data), rows, cols);
}

// ---- checks of a model document -------------------------------------------------------------

[[noreturn]] void bad(const std::string& what, std::string_view why) {
  throw InvalidInput(fmt::format("{}: corrupt ranking model: {}", what, why));
}

const nlohmann::json& member(const nlohmann::json& j, const char* key, const std::string& what) {
  if (!j.is_object() || !j.contains(key)) bad(what, fmt::format("missing \"{}\"", key));
  return j.at(key);
}

// XGBoost writes its integer parameters as strings ("num_nodes": "7").
std::int64_t int_param(const nlohmann::json& j, const char* key, const std::string& what) {
  const auto& v = member(j, key, what);
  std::int64_t out = 0;
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    char* end = nullptr;
    out = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0') bad(what, fmt::format("\"{}\" is not an integer", key));
  } else if (v.is_number_integer()) {
    out = v.get<std::int64_t>();
  } else {
    bad(what, fmt::format("\"{}\" is not an integer", key));
  }
  return out;
}

const nlohmann::json& array_of(const nlohmann::json& tree, const char* key, std::size_t n,
                               const std::string& what) {
  const auto& a = member(tree, key, what);
  if (!a.is_array() || a.size() != n)
    bad(what, fmt::format("tree array \"{}\" does not have {} entries", key, n));
  return a;
}

void check_tree(const nlohmann::json& tree, std::size_t num_features, const std::string& what) {
  constexpr std::int64_t kMaxNodes = 1 << 22;
  // reckon trains at most max_depth 16; the bound leaves room and keeps XGBoost's recursion short.
  constexpr int kMaxTreeDepth = 64;
  const auto& tp = member(tree, "tree_param", what);
  const std::int64_t n = int_param(tp, "num_nodes", what);
  if (tp.contains("size_leaf_vector") && int_param(tp, "size_leaf_vector", what) != 0)
    bad(what, "a tree with leaf vectors (reckon trains scalar leaves)");
  if (n < 1 || n > kMaxNodes) bad(what, fmt::format("a tree with {} nodes", n));
  const auto nodes = static_cast<std::size_t>(n);
  const auto& left = array_of(tree, "left_children", nodes, what);
  const auto& right = array_of(tree, "right_children", nodes, what);
  const auto& split = array_of(tree, "split_indices", nodes, what);
  const auto& parents = array_of(tree, "parents", nodes, what);
  array_of(tree, "split_conditions", nodes, what);
  array_of(tree, "default_left", nodes, what);
  array_of(tree, "base_weights", nodes, what);
  array_of(tree, "loss_changes", nodes, what);
  array_of(tree, "sum_hessian", nodes, what);
  // Categorical splits are never trained here; a file with them is not ours.
  if (tree.contains("split_type")) {
    const auto& st = array_of(tree, "split_type", nodes, what);
    for (const auto& v : st)
      if (!v.is_number_integer() || v.get<std::int64_t>() != 0)
        bad(what, "a categorical split (reckon trains numeric splits only)");
  }
  for (const char* key :
       {"categories", "categories_nodes", "categories_segments", "categories_sizes"})
    if (tree.contains(key) && !(tree.at(key).is_array() && tree.at(key).empty()))
      bad(what, "categorical split data (reckon trains numeric splits only)");
  auto index = [&](const nlohmann::json& v) -> std::int64_t {
    if (!v.is_number_integer()) bad(what, "a child or split index that is not an integer");
    return v.get<std::int64_t>();
  };
  // XGBoost's loader looks up the parent of every node but the root, deleted ones included,
  // without a range check (an out-of-range parent crashed it; found by fuzzing).
  for (std::size_t i = 1; i < nodes; ++i) {
    const std::int64_t p = index(parents[i]);
    if (p < 0 || p >= n) bad(what, fmt::format("parent {} of a tree of {} nodes", p, n));
  }
  // Every node is reached exactly once from the root: no cycle, no shared subtree, no index
  // out of range, each child naming its parent. Iterative, so a deep crafted tree cannot exhaust
  // the stack here; the depth is bounded because XGBoost's depth and SHAP walks recurse.
  struct Visit {
    std::int64_t node, parent;
    int depth;
  };
  std::vector<char> seen(nodes, 0);
  std::vector<Visit> stack = {{0, -1, 0}};
  while (!stack.empty()) {
    const auto [i, parent, depth] = stack.back();
    stack.pop_back();
    if (i < 0 || i >= n) bad(what, fmt::format("child index {} of a tree of {} nodes", i, n));
    if (seen[static_cast<std::size_t>(i)]) bad(what, "a tree node reached twice");
    seen[static_cast<std::size_t>(i)] = 1;
    const auto u = static_cast<std::size_t>(i);
    if (parent >= 0 && index(parents[u]) != parent)
      bad(what, fmt::format("node {} does not name its parent {}", i, parent));
    const std::int64_t l = index(left[u]), r = index(right[u]);
    if (l == -1 && r == -1) continue;  // a leaf
    if (l == -1 || r == -1) bad(what, "a tree node with one child");
    if (depth >= kMaxTreeDepth) bad(what, fmt::format("a tree deeper than {}", kMaxTreeDepth));
    const std::int64_t f = index(split[u]);
    if (f < 0 || static_cast<std::size_t>(f) >= num_features)
      bad(what, fmt::format("a split on feature {} of {}", f, num_features));
    stack.push_back({l, i, depth + 1});
    stack.push_back({r, i, depth + 1});
  }
  // Nodes not reached are deleted ones; XGBoost never visits them.
}

void check_document(const nlohmann::json& doc, std::size_t num_features, const std::string& what) {
  const auto& learner = member(doc, "learner", what);
  const auto& lmp = member(learner, "learner_model_param", what);
  if (int_param(lmp, "num_feature", what) != static_cast<std::int64_t>(num_features))
    bad(what, fmt::format("the model does not have {} features", num_features));
  const std::int64_t classes = int_param(lmp, "num_class", what);
  if (classes != 0 && classes != 1) bad(what, "a multi-class model");
  const auto& objective = member(member(learner, "objective", what), "name", what);
  if (!objective.is_string() ||
      (objective != "rank:ndcg" && objective != "rank:pairwise" && objective != "rank:map"))
    bad(what, "the objective is not rank:ndcg, rank:pairwise or rank:map");
  const auto& gb = member(learner, "gradient_booster", what);
  if (member(gb, "name", what) != "gbtree") bad(what, "the booster is not gbtree");
  const auto& model = member(gb, "model", what);
  const auto& gp = member(model, "gbtree_model_param", what);
  const std::int64_t num_trees = int_param(gp, "num_trees", what);
  if ((gp.contains("num_parallel_tree") && int_param(gp, "num_parallel_tree", what) != 1) ||
      (gp.contains("size_leaf_vector") && int_param(gp, "size_leaf_vector", what) != 0))
    bad(what, "a forest layout reckon does not train");
  if (lmp.contains("num_target") && int_param(lmp, "num_target", what) != 1)
    bad(what, "a model with several targets");
  const auto& trees = member(model, "trees", what);
  const auto& info = member(model, "tree_info", what);
  if (!trees.is_array() || num_trees < 0 || trees.size() != static_cast<std::size_t>(num_trees) ||
      !info.is_array() || info.size() != trees.size())
    bad(what, "the tree count disagrees with the trees");
  for (const auto& v : info)
    if (!v.is_number_integer() || v.get<std::int64_t>() != 0) bad(what, "a tree of another class");
  for (std::size_t position = 0; position < trees.size(); ++position) {
    const auto& t = trees[position];
    if (!t.is_object()) bad(what, "a tree that is not an object");
    // XGBoost loads trees in parallel into the slot their id names: two trees with one id
    // free the same tree twice (found by fuzzing), an id out of range throws. Ids are positions.
    const auto& id = member(t, "id", what);
    if (!id.is_number_integer() || id.get<std::int64_t>() != static_cast<std::int64_t>(position))
      bad(what, fmt::format("tree {} has another id", position));
    check_tree(t, num_features, what);
    const std::int64_t tf = int_param(member(t, "tree_param", what), "num_feature", what);
    if (tf != static_cast<std::int64_t>(num_features))
      bad(what, fmt::format("a tree over {} features", tf));
  }
  if (learner.contains("feature_names") && !learner.at("feature_names").empty())
    bad(what, "feature names inside the booster (reckon keeps them beside it)");
}

}  // namespace

XgbBooster::~XgbBooster() {
  if (handle_) XGBoosterFree(handle_);
}
XgbBooster::XgbBooster(XgbBooster&& o) noexcept
    : handle_(std::exchange(o.handle_, nullptr)),
      num_features_(o.num_features_),
      mutex_(std::move(o.mutex_)) {
  o.mutex_ = std::make_unique<std::mutex>();
}
XgbBooster& XgbBooster::operator=(XgbBooster&& o) noexcept {
  if (this != &o) {
    if (handle_) XGBoosterFree(handle_);
    handle_ = std::exchange(o.handle_, nullptr);
    num_features_ = o.num_features_;
    std::swap(mutex_, o.mutex_);
  }
  return *this;
}

void XgbBooster::set_param(const char* key, const std::string& value) {
  check(XGBoosterSetParam(handle_, key, value.c_str()), fmt::format("setting {}", key));
}

XgbBooster XgbBooster::train(const RankRows& train, const RankRows& valid, const BoosterOptions& o,
                             BoosterTrainLog& log,
                             const std::function<void(int, double)>& on_round) {
  quiet_once();
  RECKON_ASSERT(train.features.size() == train.rows() * train.num_features);
  RECKON_ASSERT(valid.rows() == 0 || valid.num_features == train.num_features);
  RECKON_CHECK(train.rows() > 0,
               "ranker: no training rows (no held-back interaction was among "
               "the candidates)");
  DMatrix dtrain(train, o.threads);
  std::unique_ptr<DMatrix> dvalid;
  if (valid.rows() > 0) dvalid = std::make_unique<DMatrix>(valid, o.threads);
  std::vector<DMatrixHandle> cache = {dtrain.h};
  if (dvalid) cache.push_back(dvalid->h);
  XgbBooster b;
  b.num_features_ = train.num_features;
  check(XGBoosterCreate(cache.data(), cache.size(), &b.handle_), "creating a booster");
  b.set_param("booster", "gbtree");
  b.set_param("tree_method", "hist");
  b.set_param("objective", o.objective);
  b.set_param("eta", fmt::format("{}", o.eta));
  b.set_param("max_depth", fmt::format("{}", o.max_depth));
  b.set_param("min_child_weight", fmt::format("{}", o.min_child_weight));
  b.set_param("subsample", fmt::format("{}", o.subsample));
  b.set_param("colsample_bytree", fmt::format("{}", o.colsample));
  b.set_param("lambda", fmt::format("{}", o.lambda));
  b.set_param("seed", fmt::format("{}", o.seed % 2147483647u));
  b.set_param("nthread", fmt::format("{}", std::max(1, o.threads)));
  log.metric = fmt::format("{}@{}", o.objective == "rank:map" ? "map" : "ndcg", o.eval_at);
  b.set_param("eval_metric", log.metric);

  const char* names[] = {"valid"};
  double best = -std::numeric_limits<double>::infinity();
  log.best_round = 0;
  for (int round = 0; round < o.rounds; ++round) {
    check(XGBoosterUpdateOneIter(b.handle_, round, dtrain.h), "training");
    log.rounds_run = round + 1;
    double score = std::numeric_limits<double>::quiet_NaN();
    if (dvalid) {
      const char* out = nullptr;
      DMatrixHandle v[] = {dvalid->h};
      check(XGBoosterEvalOneIter(b.handle_, round, v, names, 1, &out), "evaluating");
      score = parse_eval(out);
      if (score > best) {
        best = score;
        log.best_round = round + 1;
      } else if (round + 1 - log.best_round >= o.early_stopping) {
        if (on_round) on_round(round + 1, score);
        break;
      }
    } else {
      log.best_round = round + 1;
    }
    if (on_round) on_round(round + 1, score);
  }
  log.best_validation = dvalid ? best : std::numeric_limits<double>::quiet_NaN();
  if (log.best_round < log.rounds_run) {
    BoosterHandle sliced = nullptr;
    check(XGBoosterSlice(b.handle_, 0, log.best_round, 1, &sliced), "keeping the best rounds");
    XGBoosterFree(b.handle_);
    b.handle_ = sliced;
  }
  // Scoring runs one request per thread: each prediction is single-threaded.
  b.set_param("nthread", "1");
  return b;
}

void XgbBooster::predict(std::span<const float> rows, std::size_t n_rows,
                         std::span<float> out) const {
  RECKON_ASSERT(handle_ && rows.size() == n_rows * num_features_ && out.size() == n_rows);
  if (n_rows == 0) return;
  const std::string values = array_interface(rows.data(), n_rows, num_features_);
  static constexpr const char* kConfig =
      R"({"type": 1, "training": false, "iteration_begin": 0, "iteration_end": 0,
          "strict_shape": false, "missing": NaN, "cache_id": 0})";
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  check(XGBoosterPredictFromDense(handle_, values.c_str(), kConfig, nullptr, &shape, &dim, &result),
        "predicting");
  std::copy(result, result + n_rows, out.begin());
}

std::vector<float> XgbBooster::contributions(std::span<const float> rows,
                                             std::size_t n_rows) const {
  RECKON_ASSERT(handle_ && rows.size() == n_rows * num_features_);
  if (n_rows == 0) return {};
  DMatrix m(rows, n_rows, num_features_);
  static constexpr const char* kConfig =
      R"({"type": 2, "training": false, "iteration_begin": 0, "iteration_end": 0,
          "strict_shape": false})";
  // Thread-safe since XGBoost 1.4 (prediction caches and output buffers are per thread).
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  check(XGBoosterPredictFromDMatrix(handle_, m.h, kConfig, &shape, &dim, &result),
        "computing contributions");
  const std::size_t n = n_rows * (num_features_ + 1);
  RECKON_CHECK(dim == 2 && shape[0] == n_rows && shape[1] == num_features_ + 1,
               "xgboost: unexpected shape of contributions");
  return {result, result + n};
}

std::vector<double> XgbBooster::gain_importance() const {
  RECKON_ASSERT(handle_);
  std::lock_guard lock(*mutex_);
  // Names f0, f1, ... stand for positions (the booster holds no names of its own).
  bst_ulong n_features = 0, dim = 0;
  const char** names = nullptr;
  const bst_ulong* shape = nullptr;
  const float* scores = nullptr;
  check(XGBoosterFeatureScore(handle_, R"({"importance_type": "gain"})", &n_features, &names, &dim,
                              &shape, &scores),
        "feature importance");
  std::vector<double> out(num_features_, 0.0);
  for (bst_ulong i = 0; i < n_features; ++i) {
    const std::string_view name(names[i]);
    if (name.size() < 2 || name[0] != 'f') continue;
    const auto f = std::strtoull(std::string(name.substr(1)).c_str(), nullptr, 10);
    if (f < out.size()) out[f] = scores[i];
  }
  return out;
}

std::string XgbBooster::to_json() const {
  RECKON_ASSERT(handle_);
  std::lock_guard lock(*mutex_);
  bst_ulong len = 0;
  const char* data = nullptr;
  check(XGBoosterSaveModelToBuffer(handle_, R"({"format": "json"})", &len, &data), "saving");
  return {data, data + len};
}

XgbBooster XgbBooster::from_json(std::string_view json, std::size_t num_features,
                                 const std::string& what) {
  quiet_once();
  // A booster is a few levels deep (learner > gradient_booster > model > trees > tree > array).
  std::string why;
  const auto doc = parse_json(json, &why, 16);
  if (!doc) bad(what, why);
  check_document(*doc, num_features, what);
  XgbBooster b;
  b.num_features_ = num_features;
  check(XGBoosterCreate(nullptr, 0, &b.handle_), "creating a booster");
  // XGBoost reads the document that was checked, re-serialised: its own parser never sees the
  // file's bytes (duplicate keys or other quirks where two parsers could disagree).
  const std::string checked = doc->dump();
  if (XGBoosterLoadModelFromBuffer(b.handle_, checked.data(), checked.size()) != 0)
    bad(what, XGBGetLastError());
  b.set_param("nthread", "1");
  return b;
}

}  // namespace reckon
