#include "reckon/rank/candidates.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "reckon/core/error.hpp"
#include "reckon/io/text.hpp"
#include "reckon/retrieval/topk.hpp"

namespace reckon {
namespace {

constexpr std::size_t kMaxCount = 10000;
constexpr std::size_t kMaxGenerators = 16;

}  // namespace

std::vector<GeneratorSpec> parse_generators(std::string_view spec) {
  std::vector<GeneratorSpec> out;
  std::vector<std::string_view> parts;
  split_plain(spec, ",", parts);
  for (std::string_view part : parts) {
    part = trim(part);
    if (part.empty()) continue;
    const auto colon = part.find(':');
    RECKON_CHECK(colon != std::string_view::npos,
                 "ranker: candidates are model:count entries (\"ials:100,popular:20\"), got \"{}\"",
                 excerpt(part));
    GeneratorSpec g;
    g.model = std::string(trim(part.substr(0, colon)));
    const auto count = parse_int(trim(part.substr(colon + 1)));
    RECKON_CHECK(count && *count >= 1 && static_cast<std::size_t>(*count) <= kMaxCount,
                 "ranker: the count of candidates from {} must be from 1 to {}, got \"{}\"",
                 excerpt(g.model), kMaxCount, excerpt(part.substr(colon + 1)));
    g.count = static_cast<std::size_t>(*count);
    RECKON_CHECK(g.model != "ranker", "ranker: a ranker cannot generate its own candidates");
    find_model(g.model);  // throws, listing the known names
    for (const auto& o : out)
      RECKON_CHECK(o.model != g.model, "ranker: candidates name {} twice", g.model);
    out.push_back(std::move(g));
  }
  RECKON_CHECK(!out.empty(), "ranker: no candidate generators (e.g. candidates=ials:100,popular:20)");
  RECKON_CHECK(out.size() <= kMaxGenerators, "ranker: at most {} candidate generators",
               kMaxGenerators);
  return out;
}

void CandidateGenerators::fit(
    std::vector<GeneratorSpec> specs,
    const std::map<std::string, std::map<std::string, std::string>>& params, const Dataset& data,
    FitContext& ctx) {
  specs_ = std::move(specs);
  generators_.clear();
  num_items_ = data.num_items();
  for (const auto& g : specs_) {
    const ModelInfo& info = find_model(g.model);
    const auto it = params.find(g.model);
    const Params p = Params::resolve(g.model, info.params,
                                     it == params.end() ? std::map<std::string, std::string>{}
                                                        : it->second);
    auto model = info.create();
    model->fit(data, p, ctx);
    generators_.push_back(std::move(model));
  }
}

void CandidateGenerators::propose(const UserContext& user, Candidates& out) const {
  out.clear();
  const auto n = static_cast<std::size_t>(num_items_);
  const std::size_t G = generators_.size();
  thread_local std::vector<float> scores;
  thread_local std::vector<std::int32_t> slot;  // item -> position in out.items, or -1
  thread_local std::vector<ScoredItem> top;
  scores.resize(n);
  if (slot.size() != n) slot.assign(n, -1);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (std::size_t g = 0; g < G; ++g) {
    generators_[g]->score(user, scores);
    mask(scores, user.history);
    top_k(scores, specs_[g].count, top);
    for (std::size_t r = 0; r < top.size(); ++r) {
      const auto item = static_cast<std::size_t>(top[r].item);
      if (slot[item] < 0) {
        slot[item] = static_cast<std::int32_t>(out.items.size());
        out.items.push_back(top[r].item);
        out.scores.resize(out.scores.size() + G, nan);
        out.ranks.resize(out.ranks.size() + G, nan);
      }
      const std::size_t at = static_cast<std::size_t>(slot[item]) * G + g;
      out.scores[at] = top[r].score;
      out.ranks[at] = static_cast<float>(r + 1);
    }
  }
  for (index_t i : out.items) slot[static_cast<std::size_t>(i)] = -1;
}

void CandidateGenerators::save(BinaryWriter& out) const {
  out.put<std::uint64_t>(specs_.size());
  out.put<std::int64_t>(num_items_);
  for (std::size_t g = 0; g < specs_.size(); ++g) {
    out.put_string(specs_[g].model);
    out.put<std::uint64_t>(specs_[g].count);
    BinaryWriter body;
    generators_[g]->save(body);
    out.put_string(body.bytes());
  }
}

void CandidateGenerators::load(BinaryReader& in) {
  const auto n = in.get<std::uint64_t>();
  RECKON_CHECK(n >= 1 && n <= kMaxGenerators, "{}: corrupt ranker: {} candidate generators",
               in.what(), n);
  num_items_ = in.get<std::int64_t>();
  RECKON_CHECK(num_items_ >= 0, "{}: corrupt ranker: {} items", in.what(), num_items_);
  specs_.clear();
  generators_.clear();
  for (std::uint64_t g = 0; g < n; ++g) {
    GeneratorSpec s;
    s.model = in.get_string();
    s.count = in.get<std::uint64_t>();
    RECKON_CHECK(s.model != "ranker", "{}: corrupt ranker: it names itself as a generator",
                 in.what());
    RECKON_CHECK(s.count >= 1 && s.count <= kMaxCount,
                 "{}: corrupt ranker: {} candidates from {}", in.what(), s.count, excerpt(s.model));
    for (const auto& o : specs_)
      RECKON_CHECK(o.model != s.model, "{}: corrupt ranker: generator {} twice", in.what(),
                   excerpt(s.model));
    std::unique_ptr<Model> model;
    try {
      model = make_model(s.model);
    } catch (const InvalidInput&) {
      throw InvalidInput(fmt::format("{}: ranker generator \"{}\" is not known to this reckon",
                                     in.what(), excerpt(s.model)));
    }
    const std::string body = in.get_string();
    BinaryReader r(body, in.what() + " (" + s.model + " generator)");
    model->load(r);
    RECKON_CHECK(r.at_end(), "{}: corrupt ranker: trailing bytes after the {} generator",
                 in.what(), s.model);
    specs_.push_back(std::move(s));
    generators_.push_back(std::move(model));
  }
}

void CandidateGenerators::validate(const Dataset& train) const {
  RECKON_CHECK(num_items_ == train.num_items(), "the ranker's generators know {} items, the data {}",
               num_items_, train.num_items());
  for (std::size_t g = 0; g < generators_.size(); ++g) {
    try {
      generators_[g]->validate(train);
    } catch (const InvalidInput& e) {
      throw InvalidInput(fmt::format("generator {}: {}", specs_[g].model, e.what()));
    }
  }
}

}  // namespace reckon
