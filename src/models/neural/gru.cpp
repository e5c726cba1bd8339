#include "reckon/models/neural/gru.hpp"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>

#include "reckon/core/error.hpp"

namespace reckon::neural {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMatrix>;

// Bounds of what a model file may declare (far above any real session model).
constexpr index_t kMaxItems = index_t{1} << 26;
constexpr index_t kMaxUnits = 1 << 14;
constexpr index_t kMaxLength = 1 << 16;
constexpr std::size_t kMaxEmbedding = std::size_t{1} << 31;

ConstMap matrix(const std::vector<float>& v, index_t rows, index_t cols) {
  return {v.data(), static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols)};
}

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

std::vector<float> read_array(BinaryReader& r, std::size_t size, const char* name) {
  std::vector<float> v = r.get_vector<float>();
  RECKON_CHECK(v.size() == size, "{}: corrupt GRU: {} has {} values, not {}", r.what(), name,
               v.size(), size);
  for (float x : v)
    RECKON_CHECK(std::isfinite(x), "{}: corrupt GRU: a value of {} is {}", r.what(), name, x);
  return v;
}

}  // namespace

void GruNetwork::encode(std::span<const index_t> sequence, std::span<float> out) const {
  RECKON_ASSERT(out.size() == static_cast<std::size_t>(hidden));
  if (sequence.size() > static_cast<std::size_t>(max_len))
    sequence = sequence.last(static_cast<std::size_t>(max_len));
  const ConstMap e = matrix(input_embedding, items, dim);
  const ConstMap wi = matrix(input_weight, dim, 3 * hidden);
  const ConstMap wh = matrix(hidden_weight, hidden, 3 * hidden);
  const Eigen::Map<const Eigen::RowVectorXf> bi(input_bias.data(), 3 * hidden);
  const Eigen::Map<const Eigen::RowVectorXf> bh(hidden_bias.data(), 3 * hidden);
  Eigen::RowVectorXf h = Eigen::RowVectorXf::Zero(hidden), gi(3 * hidden), gh(3 * hidden);
  for (index_t i : sequence) {
    RECKON_ASSERT(i >= 0 && i < items);
    gi.noalias() = e.row(i) * wi;
    gi += bi;
    gh.noalias() = h * wh;
    gh += bh;
    for (index_t k = 0; k < hidden; ++k) {
      const float r = sigmoid(gi[k] + gh[k]);
      const float z = sigmoid(gi[hidden + k] + gh[hidden + k]);
      const float n = std::tanh(gi[2 * hidden + k] + r * gh[2 * hidden + k]);
      h[k] = (1 - z) * n + z * h[k];
    }
  }
  std::copy(h.data(), h.data() + hidden, out.begin());
}

void GruNetwork::score(std::span<const index_t> sequence, std::span<float> out) const {
  RECKON_ASSERT(out.size() == static_cast<std::size_t>(items));
  Eigen::VectorXf h(hidden);
  encode(sequence, std::span<float>(h.data(), static_cast<std::size_t>(hidden)));
  Eigen::Map<Eigen::VectorXf> s(out.data(), items);
  s = Eigen::Map<const Eigen::VectorXf>(output_bias.data(), items);
  s.noalias() += matrix(output_embedding, items, hidden) * h;
}

void GruNetwork::check_shapes() const {
  const auto n = static_cast<std::size_t>(items), d = static_cast<std::size_t>(dim),
             h = static_cast<std::size_t>(hidden);
  RECKON_ASSERT(items > 0 && dim > 0 && hidden > 0 && max_len > 0);
  RECKON_ASSERT(input_embedding.size() == n * d && input_weight.size() == d * 3 * h &&
                hidden_weight.size() == h * 3 * h && input_bias.size() == 3 * h &&
                hidden_bias.size() == 3 * h && output_embedding.size() == n * h &&
                output_bias.size() == n);
}

void GruNetwork::save(BinaryWriter& w) const {
  check_shapes();
  for (index_t v : {items, dim, hidden, max_len}) w.put<index_t>(v);
  for (const auto* v : {&input_embedding, &input_weight, &hidden_weight, &input_bias,
                        &hidden_bias, &output_embedding, &output_bias})
    w.put_vector(*v);
}

GruNetwork GruNetwork::load(BinaryReader& r) {
  GruNetwork g;
  g.items = r.get<index_t>();
  g.dim = r.get<index_t>();
  g.hidden = r.get<index_t>();
  g.max_len = r.get<index_t>();
  RECKON_CHECK(g.items >= 1 && g.items <= kMaxItems && g.dim >= 1 && g.dim <= kMaxUnits &&
                   g.hidden >= 1 && g.hidden <= kMaxUnits && g.max_len >= 1 &&
                   g.max_len <= kMaxLength,
               "{}: corrupt GRU: {} items, embedding {}, {} units, length {}", r.what(), g.items,
               g.dim, g.hidden, g.max_len);
  const auto n = static_cast<std::size_t>(g.items), d = static_cast<std::size_t>(g.dim),
             h = static_cast<std::size_t>(g.hidden);
  RECKON_CHECK(n * std::max(d, h) <= kMaxEmbedding, "{}: corrupt GRU: {} x {} embeddings",
               r.what(), g.items, std::max(g.dim, g.hidden));
  g.input_embedding = read_array(r, n * d, "input embeddings");
  g.input_weight = read_array(r, d * 3 * h, "input weights");
  g.hidden_weight = read_array(r, h * 3 * h, "hidden weights");
  g.input_bias = read_array(r, 3 * h, "input biases");
  g.hidden_bias = read_array(r, 3 * h, "hidden biases");
  g.output_embedding = read_array(r, n * h, "output embeddings");
  g.output_bias = read_array(r, n, "output biases");
  return g;
}

}  // namespace reckon::neural
