#include "reckon/models/neural/transformer.hpp"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <limits>

#include "reckon/core/error.hpp"

namespace reckon::neural {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMatrix>;
using ConstRow = Eigen::Map<const Eigen::RowVectorXf>;

// Bounds of what a model file may declare: far above any real sequence model, low enough that
// the products below cannot overflow.
constexpr index_t kMaxItems = index_t{1} << 26;
constexpr index_t kMaxDim = 4096;
constexpr index_t kMaxLength = 4096;  // attention is length x length per head
constexpr index_t kMaxFfn = 1 << 16;
constexpr std::uint32_t kMaxBlocks = 16;
constexpr std::size_t kMaxEmbedding = std::size_t{1} << 31;

ConstMap matrix(const std::vector<float>& v, index_t rows, index_t cols) {
  return {v.data(), static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols)};
}
ConstRow row(const std::vector<float>& v) {
  return {v.data(), static_cast<Eigen::Index>(v.size())};
}

// Each row of x normalised to mean 0, variance 1, then scaled and shifted.
RowMatrix layer_norm(const RowMatrix& x, const std::vector<float>& gain,
                     const std::vector<float>& bias) {
  RowMatrix y(x.rows(), x.cols());
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    const float mean = x.row(r).mean();
    const float var = (x.row(r).array() - mean).square().mean();
    const float inv = 1.0f / std::sqrt(var + kLayerNormEpsilon);
    y.row(r) = ((x.row(r).array() - mean) * inv * row(gain).array() + row(bias).array()).matrix();
  }
  return y;
}

RowMatrix affine(const RowMatrix& x, const std::vector<float>& w, const std::vector<float>& b,
                 index_t out) {
  RowMatrix y(x.rows(), static_cast<Eigen::Index>(out));
  y.rowwise() = row(b);
  y.noalias() += x * matrix(w, x.cols(), out);
  return y;
}

// Causal multi-head attention of the normalised inputs h (n x dim).
RowMatrix attention(const RowMatrix& h, const TransformerBlock& b, index_t dim, index_t heads) {
  const Eigen::Index n = h.rows();
  const RowMatrix qkv = affine(h, b.qkv_weight, b.qkv_bias, 3 * dim);
  const Eigen::Index dh = dim / heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  RowMatrix out(n, dim);
  RowMatrix s(n, n);
  for (Eigen::Index head = 0; head < heads; ++head) {
    const auto q = qkv.middleCols(head * dh, dh);
    const auto k = qkv.middleCols(dim + head * dh, dh);
    const auto v = qkv.middleCols(2 * dim + head * dh, dh);
    s.noalias() = (q * k.transpose()) * scale;
    for (Eigen::Index r = 0; r < n; ++r) {
      // Row r sees positions 0..r (the future is masked out).
      const float top = s.row(r).head(r + 1).maxCoeff();
      float sum = 0;
      for (Eigen::Index c = 0; c <= r; ++c) sum += (s(r, c) = std::exp(s(r, c) - top));
      for (Eigen::Index c = 0; c <= r; ++c) s(r, c) /= sum;
      for (Eigen::Index c = r + 1; c < n; ++c) s(r, c) = 0;
    }
    out.middleCols(head * dh, dh).noalias() = s * v;
  }
  return affine(out, b.out_weight, b.out_bias, dim);
}

std::vector<float> read_array(BinaryReader& r, std::size_t size, const char* name, int block) {
  std::vector<float> v = r.get_vector<float>();
  RECKON_CHECK(v.size() == size, "{}: corrupt transformer: {} of block {} has {} values, not {}",
               r.what(), name, block, v.size(), size);
  for (float x : v)
    RECKON_CHECK(std::isfinite(x), "{}: corrupt transformer: a value of {} (block {}) is {}",
                 r.what(), name, block, x);
  return v;
}

}  // namespace

void CausalTransformer::encode(std::span<const index_t> sequence, std::span<float> out) const {
  RECKON_ASSERT(out.size() == static_cast<std::size_t>(dim));
  const auto n = static_cast<Eigen::Index>(std::min<std::size_t>(sequence.size(),
                                                                 static_cast<std::size_t>(max_len)));
  if (n == 0) {
    std::fill(out.begin(), out.end(), 0.0f);
    return;
  }
  sequence = sequence.last(static_cast<std::size_t>(n));
  const ConstMap e = matrix(item_embedding, items, dim);
  const ConstMap p = matrix(position_embedding, max_len, dim);
  const float scale = std::sqrt(static_cast<float>(dim));
  RowMatrix x(n, dim);
  for (Eigen::Index j = 0; j < n; ++j) {
    const index_t i = sequence[static_cast<std::size_t>(j)];
    RECKON_ASSERT(i >= 0 && i < items);
    x.row(j) = scale * e.row(i) + p.row(max_len - n + j);
  }
  for (const TransformerBlock& b : blocks) {
    x += attention(layer_norm(x, b.norm1_gain, b.norm1_bias), b, dim, heads);
    RowMatrix f = affine(layer_norm(x, b.norm2_gain, b.norm2_bias), b.ffn1_weight, b.ffn1_bias, ffn);
    f = f.cwiseMax(0.0f);
    x += affine(f, b.ffn2_weight, b.ffn2_bias, dim);
  }
  const RowMatrix last = layer_norm(x.bottomRows(1), final_gain, final_bias);
  std::copy(last.data(), last.data() + dim, out.begin());
}

void CausalTransformer::score(std::span<const index_t> sequence, std::span<float> out) const {
  RECKON_ASSERT(out.size() == static_cast<std::size_t>(items));
  Eigen::VectorXf h(dim);
  encode(sequence, std::span<float>(h.data(), static_cast<std::size_t>(dim)));
  Eigen::Map<Eigen::VectorXf>(out.data(), items).noalias() = matrix(item_embedding, items, dim) * h;
}

void CausalTransformer::check_shapes() const {
  const auto d = static_cast<std::size_t>(dim), f = static_cast<std::size_t>(ffn);
  RECKON_ASSERT(dim > 0 && heads > 0 && dim % heads == 0 && max_len > 0 && ffn > 0);
  RECKON_ASSERT(item_embedding.size() == static_cast<std::size_t>(items) * d &&
                position_embedding.size() == static_cast<std::size_t>(max_len) * d &&
                final_gain.size() == d && final_bias.size() == d);
  for (const TransformerBlock& b : blocks)
    RECKON_ASSERT(b.norm1_gain.size() == d && b.norm1_bias.size() == d &&
                  b.qkv_weight.size() == 3 * d * d && b.qkv_bias.size() == 3 * d &&
                  b.out_weight.size() == d * d && b.out_bias.size() == d &&
                  b.norm2_gain.size() == d && b.norm2_bias.size() == d &&
                  b.ffn1_weight.size() == d * f && b.ffn1_bias.size() == f &&
                  b.ffn2_weight.size() == f * d && b.ffn2_bias.size() == d);
}

void CausalTransformer::save(BinaryWriter& w) const {
  check_shapes();
  for (index_t v : {items, dim, heads, max_len, ffn}) w.put<index_t>(v);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(blocks.size()));
  w.put_vector(item_embedding);
  w.put_vector(position_embedding);
  for (const TransformerBlock& b : blocks)
    for (const auto* v : {&b.norm1_gain, &b.norm1_bias, &b.qkv_weight, &b.qkv_bias, &b.out_weight,
                          &b.out_bias, &b.norm2_gain, &b.norm2_bias, &b.ffn1_weight, &b.ffn1_bias,
                          &b.ffn2_weight, &b.ffn2_bias})
      w.put_vector(*v);
  w.put_vector(final_gain);
  w.put_vector(final_bias);
}

CausalTransformer CausalTransformer::load(BinaryReader& r) {
  CausalTransformer t;
  t.items = r.get<index_t>();
  t.dim = r.get<index_t>();
  t.heads = r.get<index_t>();
  t.max_len = r.get<index_t>();
  t.ffn = r.get<index_t>();
  const auto blocks = r.get<std::uint32_t>();
  RECKON_CHECK(t.items >= 1 && t.items <= kMaxItems && t.dim >= 1 && t.dim <= kMaxDim &&
                   t.heads >= 1 && t.heads <= t.dim && t.dim % t.heads == 0 && t.max_len >= 1 &&
                   t.max_len <= kMaxLength && t.ffn >= 1 && t.ffn <= kMaxFfn && blocks >= 1 &&
                   blocks <= kMaxBlocks,
               "{}: corrupt transformer: {} items, dimension {}, {} heads, length {}, feed-forward "
               "{}, {} blocks",
               r.what(), t.items, t.dim, t.heads, t.max_len, t.ffn, blocks);
  const auto d = static_cast<std::size_t>(t.dim), f = static_cast<std::size_t>(t.ffn);
  RECKON_CHECK(static_cast<std::size_t>(t.items) * d <= kMaxEmbedding,
               "{}: corrupt transformer: {} x {} embeddings", r.what(), t.items, t.dim);
  t.item_embedding = read_array(r, static_cast<std::size_t>(t.items) * d, "item embeddings", -1);
  t.position_embedding =
      read_array(r, static_cast<std::size_t>(t.max_len) * d, "position embeddings", -1);
  t.blocks.resize(blocks);
  for (std::uint32_t k = 0; k < blocks; ++k) {
    TransformerBlock& b = t.blocks[k];
    const int n = static_cast<int>(k);
    b.norm1_gain = read_array(r, d, "norm1 gain", n);
    b.norm1_bias = read_array(r, d, "norm1 bias", n);
    b.qkv_weight = read_array(r, 3 * d * d, "attention in weights", n);
    b.qkv_bias = read_array(r, 3 * d, "attention in biases", n);
    b.out_weight = read_array(r, d * d, "attention out weights", n);
    b.out_bias = read_array(r, d, "attention out biases", n);
    b.norm2_gain = read_array(r, d, "norm2 gain", n);
    b.norm2_bias = read_array(r, d, "norm2 bias", n);
    b.ffn1_weight = read_array(r, d * f, "feed-forward in weights", n);
    b.ffn1_bias = read_array(r, f, "feed-forward in biases", n);
    b.ffn2_weight = read_array(r, f * d, "feed-forward out weights", n);
    b.ffn2_bias = read_array(r, d, "feed-forward out biases", n);
  }
  t.final_gain = read_array(r, d, "final norm gain", -1);
  t.final_bias = read_array(r, d, "final norm bias", -1);
  return t;
}

}  // namespace reckon::neural
