#include "reckon/tune/search_space.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "reckon/core/error.hpp"
#include "reckon/io/text.hpp"
#include "reckon/models/model.hpp"

namespace reckon {
namespace {

SearchDim num(std::string p, ParamType t, double lo, double hi, bool log) {
  return SearchDim{std::move(p), t, lo, hi, log, {}};
}
SearchDim pick(std::string p, std::vector<std::string> c) {
  return SearchDim{std::move(p), ParamType::kString, 0, 0, false, std::move(c)};
}

const ParamSpec* find_spec(const std::vector<ParamSpec>& specs, const std::string& name) {
  for (const auto& s : specs)
    if (s.name == name) return &s;
  return nullptr;
}

}  // namespace

SearchSpace default_search_space(std::string_view model) {
  constexpr auto I = ParamType::kInt;
  constexpr auto F = ParamType::kFloat;
  // Ranges cover what the literature and our benchmarks found useful on MovieLens, goodbooks
  // and Gowalla; factors stay at most 256 so that a trial fits in a minute on 2 cores.
  if (model == "ials")
    return {num("factors", I, 16, 256, true), num("regularization", F, 0.01, 100, true),
            num("alpha", F, 0.05, 100, true), num("reg_exponent", F, 0, 1, false)};
  if (model == "bpr")
    return {num("factors", I, 16, 256, true), num("learning_rate", F, 0.005, 0.2, true),
            num("regularization", F, 1e-5, 0.05, true)};
  if (model == "itemknn" || model == "userknn")
    return {num("neighbours", I, 10, 1000, true), num("shrinkage", F, 0, 200, false),
            num("alpha", F, 0, 1, false), pick("similarity", {"cosine", "asymmetric", "jaccard"}),
            pick("weighting", {"none", "bm25", "tfidf"})};
  if (model == "ease") return {num("lambda", F, 1, 20000, true)};
  if (model == "mf" || model == "svdpp")
    return {num("factors", I, 8, 256, true), num("learning_rate", F, 0.001, 0.05, true),
            num("regularization", F, 0.001, 0.5, true)};
  if (model == "hybrid")
    return {num("factors", I, 16, 256, true), num("learning_rate", F, 0.005, 0.2, true),
            num("regularization", F, 0, 0.01, false)};
  return {};
}

std::string budget_param(std::string_view model) {
  for (const auto& s : find_model(model).params)
    if (s.name == "iterations" || s.name == "epochs") return s.name;
  return {};
}

void validate_search_space(const SearchSpace& space, std::string_view model) {
  const auto& specs = find_model(model).params;
  for (const auto& d : space) {
    const ParamSpec* s = find_spec(specs, d.param);
    RECKON_CHECK(s, "--space: {} has no parameter \"{}\" (reckon train --model {} --help)", model,
                 d.param, model);
    if (s->type == ParamType::kString || s->type == ParamType::kBool) {
      RECKON_CHECK(!d.choices.empty(), "--space: {}.{} takes values A|B|..., not a range",
                   model, d.param);
      for (const auto& c : d.choices)
        RECKON_CHECK(s->type == ParamType::kBool ? (c == "true" || c == "false")
                                                 : (s->choices.empty() ||
                                                    std::find(s->choices.begin(), s->choices.end(),
                                                              c) != s->choices.end()),
                     "--space: {}.{} does not accept \"{}\"", model, d.param, c);
      continue;
    }
    RECKON_CHECK(d.choices.empty(), "--space: {}.{} is a number: give LO:HI[:log]", model,
                 d.param);
    RECKON_CHECK(std::isfinite(d.lo) && std::isfinite(d.hi) && d.lo <= d.hi,
                 "--space: {}.{}: expected LO <= HI, got {}:{}", model, d.param, d.lo, d.hi);
    RECKON_CHECK(!d.log || d.lo > 0, "--space: {}.{}: a log range needs LO > 0", model, d.param);
    RECKON_CHECK(s->min > s->max || (d.lo >= s->min && d.hi <= s->max),
                 "--space: {}.{} accepts [{}, {}], not {}:{}", model, d.param, s->min, s->max,
                 d.lo, d.hi);
  }
}

SearchSpace parse_search_space(std::string_view text, std::string_view model, SearchSpace base) {
  const auto& specs = find_model(model).params;
  std::vector<std::string_view> entries;
  split_plain(text, ",", entries);
  for (auto e : entries) {
    e = trim(e);
    if (e.empty()) continue;
    const auto eq = e.find('=');
    RECKON_CHECK(eq != std::string_view::npos,
                 "--space: expected NAME=LO:HI[:log] or NAME=A|B, got \"{}\"", e);
    SearchDim d;
    d.param = std::string(trim(e.substr(0, eq)));
    const std::string_view v = trim(e.substr(eq + 1));
    const ParamSpec* s = find_spec(specs, d.param);
    RECKON_CHECK(s, "--space: {} has no parameter \"{}\"", model, d.param);
    d.type = s->type == ParamType::kBool ? ParamType::kString : s->type;
    if (d.type == ParamType::kString) {
      std::vector<std::string_view> c;
      split_plain(v, "|", c);
      for (auto x : c) d.choices.emplace_back(trim(x));
    } else {
      std::vector<std::string_view> f;
      split_plain(v, ":", f);
      RECKON_CHECK(f.size() == 2 || (f.size() == 3 && trim(f[2]) == "log"),
                   "--space: {}: expected LO:HI or LO:HI:log, got \"{}\"", d.param, v);
      auto lo = parse_double(trim(f[0])), hi = parse_double(trim(f[1]));
      RECKON_CHECK(lo && hi, "--space: {}: expected numbers, got \"{}\"", d.param, v);
      d.lo = *lo;
      d.hi = *hi;
      d.log = f.size() == 3;
    }
    auto it = std::find_if(base.begin(), base.end(),
                           [&](const SearchDim& x) { return x.param == d.param; });
    if (it != base.end())
      *it = d;
    else
      base.push_back(d);
  }
  validate_search_space(base, model);
  return base;
}

double to_unit(const SearchDim& d, const std::string& value) {
  if (d.type == ParamType::kString) {
    auto it = std::find(d.choices.begin(), d.choices.end(), value);
    const double i = static_cast<double>(it - d.choices.begin());
    return (i + 0.5) / static_cast<double>(d.choices.size());
  }
  const double v = parse_double(value).value_or(d.lo);
  if (d.hi <= d.lo) return 0.5;
  const double u = d.log ? (std::log(v) - std::log(d.lo)) / (std::log(d.hi) - std::log(d.lo))
                         : (v - d.lo) / (d.hi - d.lo);
  return std::clamp(u, 0.0, 1.0);
}

std::string from_unit(const SearchDim& d, double u) {
  u = std::clamp(u, 0.0, 1.0);
  if (d.type == ParamType::kString) {
    const auto n = d.choices.size();
    return d.choices[std::min(n - 1, static_cast<std::size_t>(u * static_cast<double>(n)))];
  }
  const double v = d.log ? std::exp(std::log(d.lo) + u * (std::log(d.hi) - std::log(d.lo)))
                         : d.lo + u * (d.hi - d.lo);
  if (d.type == ParamType::kInt)
    return fmt::format("{}", static_cast<long long>(std::clamp(std::round(v), d.lo, d.hi)));
  return fmt::format("{:.6g}", std::clamp(v, d.lo, d.hi));
}

std::string describe(const SearchSpace& space) {
  std::string out;
  for (const auto& d : space) {
    out += out.empty() ? "" : ", ";
    if (d.type == ParamType::kString) {
      std::string c;
      for (const auto& x : d.choices) c += (c.empty() ? "" : "|") + x;
      out += d.param + "=" + c;
    } else {
      out += fmt::format("{}={:g}:{:g}{}", d.param, d.lo, d.hi, d.log ? ":log" : "");
    }
  }
  return out;
}

}  // namespace reckon
