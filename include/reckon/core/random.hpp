#pragma once
// A small, fast, seedable generator whose sequence is the same on every platform and standard
// library (std::*_distribution is not), so that seeded splits and models are reproducible.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <utility>

namespace reckon {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed ^ 0x9E3779B97F4A7C15ull) { next(); }
  // SplitMix64.
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) (Lemire's multiply-shift; the bias is below 2^-32 for n < 2^32).
  std::uint64_t below(std::uint64_t n) {
    __extension__ using u128 = unsigned __int128;
    return static_cast<std::uint64_t>((static_cast<u128>(next()) * n) >> 64);
  }
  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Standard normal (Box-Muller, one of the pair; two uniforms a draw).
  double normal() {
    const double a = std::max(uniform(), 1e-12), b = uniform();
    return std::sqrt(-2 * std::log(a)) * std::cos(2 * M_PI * b);
  }
  template <typename T>
  void shuffle(std::span<T> v) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }

 private:
  std::uint64_t state_;
};

}  // namespace reckon
