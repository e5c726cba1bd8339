#include "reckon/models/neural/mlp.hpp"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "reckon/core/error.hpp"
#include "reckon/io/json.hpp"
#include "reckon/retrieval/topk.hpp"

namespace reckon::neural {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// The most layers and units a model file may declare: far above any real autoencoder, low
// enough that the products below cannot overflow.
constexpr std::uint32_t kMaxLayers = 16;
constexpr index_t kMaxUnits = index_t{1} << 26;
constexpr std::size_t kMaxWeights = std::size_t{1} << 31;

void activate(Activation a, float* v, std::size_t n) {
  switch (a) {
    case Activation::kIdentity: break;
    case Activation::kTanh:
      for (std::size_t i = 0; i < n; ++i) v[i] = std::tanh(v[i]);
      break;
    case Activation::kSigmoid:
      for (std::size_t i = 0; i < n; ++i) v[i] = 1.0f / (1.0f + std::exp(-v[i]));
      break;
    case Activation::kRelu:
      for (std::size_t i = 0; i < n; ++i) v[i] = std::max(v[i], 0.0f);
      break;
  }
}

Eigen::Map<const RowMatrix> weights_of(const DenseLayer& l) {
  return {l.weight.data(), static_cast<Eigen::Index>(l.in), static_cast<Eigen::Index>(l.out)};
}

// The k rows of `m` (one an item) most like row `item` by cosine, best first, without it.
template <typename M>
std::vector<ScoredItem> cosine_top_k(const M& m, index_t item, std::size_t k) {
  const Eigen::VectorXf v = m.row(item).transpose();
  Eigen::VectorXf s = m * v;
  const Eigen::VectorXf norms = m.rowwise().norm();
  const float nv = v.norm();
  for (Eigen::Index i = 0; i < s.size(); ++i)
    s[i] = norms[i] > 0 && nv > 0 ? s[i] / (norms[i] * nv) : 0.0f;
  s[item] = -std::numeric_limits<float>::infinity();
  std::vector<ScoredItem> out;
  top_k(std::span<const float>(s.data(), static_cast<std::size_t>(s.size())), k, out);
  return out;
}

}  // namespace

Mlp::Mlp(std::vector<DenseLayer> layers) : layers_(std::move(layers)) {
  for (std::size_t k = 0; k < layers_.size(); ++k) {
    const DenseLayer& l = layers_[k];
    RECKON_ASSERT(l.weight.size() == static_cast<std::size_t>(l.in * l.out) &&
                  l.bias.size() == static_cast<std::size_t>(l.out));
    RECKON_ASSERT(k == 0 || l.in == layers_[k - 1].out);
  }
}

void Mlp::forward_sparse(std::span<const index_t> index, std::span<const float> value,
                         std::span<float> out) const {
  RECKON_ASSERT(!layers_.empty() && index.size() == value.size() &&
                out.size() == static_cast<std::size_t>(outputs()));
  const DenseLayer& first = layers_.front();
  Eigen::VectorXf h = Eigen::Map<const Eigen::VectorXf>(first.bias.data(), first.out);
  const auto w = weights_of(first);
  for (std::size_t e = 0; e < index.size(); ++e) {
    RECKON_ASSERT(index[e] >= 0 && index[e] < first.in);
    h += value[e] * w.row(index[e]).transpose();
  }
  activate(first.activation, h.data(), static_cast<std::size_t>(h.size()));
  for (std::size_t k = 1; k < layers_.size(); ++k) {
    const DenseLayer& l = layers_[k];
    Eigen::VectorXf next = Eigen::Map<const Eigen::VectorXf>(l.bias.data(), l.out);
    next.noalias() += weights_of(l).transpose() * h;
    activate(l.activation, next.data(), static_cast<std::size_t>(next.size()));
    h = std::move(next);
  }
  std::copy(h.data(), h.data() + h.size(), out.begin());
}

void Mlp::forward_dense(std::span<const float> in, index_t rows, std::span<float> out) const {
  RECKON_ASSERT(!layers_.empty() && in.size() == static_cast<std::size_t>(rows * inputs()) &&
                out.size() == static_cast<std::size_t>(rows * outputs()));
  RowMatrix h = Eigen::Map<const RowMatrix>(in.data(), rows, inputs());
  for (const DenseLayer& l : layers_) {
    RowMatrix next(rows, l.out);
    next.rowwise() = Eigen::Map<const Eigen::RowVectorXf>(l.bias.data(), l.out);
    next.noalias() += h * weights_of(l);
    activate(l.activation, next.data(), static_cast<std::size_t>(next.size()));
    h = std::move(next);
  }
  std::copy(h.data(), h.data() + h.size(), out.begin());
}

void Mlp::save(BinaryWriter& w) const {
  w.put<std::uint32_t>(static_cast<std::uint32_t>(layers_.size()));
  for (const DenseLayer& l : layers_) {
    w.put<index_t>(l.in);
    w.put<index_t>(l.out);
    w.put<std::uint8_t>(static_cast<std::uint8_t>(l.activation));
    w.put_vector(l.weight);
    w.put_vector(l.bias);
  }
}

Mlp Mlp::load(BinaryReader& r) {
  const auto count = r.get<std::uint32_t>();
  RECKON_CHECK(count >= 1 && count <= kMaxLayers, "{}: corrupt network: {} layers", r.what(),
               count);
  std::vector<DenseLayer> layers(count);
  std::size_t total = 0;
  for (std::uint32_t k = 0; k < count; ++k) {
    DenseLayer& l = layers[k];
    l.in = r.get<index_t>();
    l.out = r.get<index_t>();
    const auto act = r.get<std::uint8_t>();
    RECKON_CHECK(l.in >= 1 && l.in <= kMaxUnits && l.out >= 1 && l.out <= kMaxUnits,
                 "{}: corrupt network: layer {} is {} x {}", r.what(), k, l.in, l.out);
    RECKON_CHECK(k == 0 || l.in == layers[k - 1].out,
                 "{}: corrupt network: layer {} takes {} inputs, the one before gives {}",
                 r.what(), k, l.in, layers[k - 1].out);
    RECKON_CHECK(act <= static_cast<std::uint8_t>(Activation::kRelu),
                 "{}: corrupt network: activation {} of layer {}", r.what(), act, k);
    l.activation = static_cast<Activation>(act);
    const auto size = static_cast<std::size_t>(l.in) * static_cast<std::size_t>(l.out);
    RECKON_CHECK(size <= kMaxWeights - total, "{}: corrupt network: too many weights", r.what());
    total += size;
    l.weight = r.get_vector<float>();
    l.bias = r.get_vector<float>();
    RECKON_CHECK(l.weight.size() == size && l.bias.size() == static_cast<std::size_t>(l.out),
                 "{}: corrupt network: layer {} has {} weights and {} biases for {} x {}",
                 r.what(), k, l.weight.size(), l.bias.size(), l.in, l.out);
    for (const auto* v : {&l.weight, &l.bias})
      for (float x : *v)
        RECKON_CHECK(std::isfinite(x), "{}: corrupt network: a weight of layer {} is {}",
                     r.what(), k, x);
  }
  return Mlp(std::move(layers));
}

void history_input(std::span<const col_t> history, std::span<const float> weights,
                   float missing, index_t items, std::vector<index_t>& index,
                   std::vector<float>& value) {
  std::vector<std::size_t> order(history.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return history[a] < history[b]; });
  const bool weighted = weights.size() == history.size();
  index.clear();
  value.clear();
  for (std::size_t k = 0; k < order.size(); ++k) {
    const index_t i = history[order[k]];
    if (i < 0 || i >= items) continue;
    if (k + 1 < order.size() && history[order[k + 1]] == i) continue;  // a later one wins
    const float v = weighted ? weights[order[k]] : missing;
    index.push_back(i);
    value.push_back(std::isfinite(v) ? v : missing);
  }
}

void encode_decode_batch(
    const Mlp& encoder, const Mlp& decoder, index_t users,
    const std::function<void(index_t, std::vector<index_t>&, std::vector<float>&)>& input,
    std::span<float> out) {
  const auto latent = static_cast<std::size_t>(encoder.outputs());
  RECKON_ASSERT(out.size() == static_cast<std::size_t>(users * decoder.outputs()));
  std::vector<float> codes(static_cast<std::size_t>(users) * latent);
  std::vector<index_t> index;
  std::vector<float> value;
  for (index_t r = 0; r < users; ++r) {
    input(r, index, value);
    encoder.forward_sparse(
        index, value, std::span<float>(codes).subspan(static_cast<std::size_t>(r) * latent, latent));
  }
  decoder.forward_dense(codes, users, out);
}

nlohmann::json describe_network(const Mlp& encoder, const Mlp& decoder, const TrainingRun& run,
                                const std::string& metric) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto* net : {&encoder, &decoder})
    for (const auto& l : net->layers()) layers.push_back(fmt::format("{}x{}", l.in, l.out));
  return {{"layers", layers}, {"training", describe_run(run, metric)}};
}

nlohmann::json describe_run(const TrainingRun& run, const std::string& metric) {
  nlohmann::json training = {{"epochs_run", run.epochs_run},
                             {"best_epoch", run.best_epoch},
                             {"seconds_per_epoch", run.seconds_per_epoch}};
  if (std::isfinite(run.best_validation)) training[metric] = run.best_validation;
  return training;
}

std::vector<ScoredItem> similar_outputs(const Mlp& decoder, index_t item, std::size_t k) {
  const DenseLayer& last = decoder.layers().back();
  RECKON_CHECK(item >= 0 && item < last.out, "item index {} out of range", item);
  const Eigen::Map<const RowMatrix> w(last.weight.data(), last.in, last.out);
  return cosine_top_k(w.transpose(), item, k);
}

std::vector<ScoredItem> similar_rows(std::span<const float> matrix, index_t rows, index_t cols,
                                     index_t item, std::size_t k) {
  RECKON_CHECK(item >= 0 && item < rows, "item index {} out of range", item);
  RECKON_ASSERT(matrix.size() == static_cast<std::size_t>(rows * cols));
  return cosine_top_k(Eigen::Map<const RowMatrix>(matrix.data(), rows, cols), item, k);
}

}  // namespace reckon::neural
