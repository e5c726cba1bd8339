#include "summary.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "reckon/io/text.hpp"

namespace reckon::cli {
namespace {

// Min, median and max of a list of row or column lengths.
nlohmann::json length_stats(std::vector<index_t> len) {
  if (len.empty()) return {{"min", 0}, {"median", 0}, {"max", 0}};
  std::sort(len.begin(), len.end());
  return {{"min", len.front()}, {"median", len[len.size() / 2]}, {"max", len.back()}};
}

nlohmann::json features(const FeatureTable& t) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : t.columns()) {
    index_t present = 0;
    for (index_t r = 0; r < c.rows(); ++r) present += c.has_value(r);
    nlohmann::json j = {{"name", c.name()},
                        {"kind", to_string(c.kind())},
                        {"present", present},
                        {"rows", c.rows()}};
    if (!c.vocabulary().empty()) j["labels"] = c.vocabulary().size();
    if (c.kind() == FeatureKind::kVector) j["dim"] = c.dim();
    out.push_back(j);
  }
  return out;
}

std::string thousands(std::int64_t v) {
  std::string s = std::to_string(v < 0 ? -v : v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3)
    s.insert(static_cast<std::size_t>(i), ",");
  return v < 0 ? "-" + s : s;
}

}  // namespace

nlohmann::json dataset_summary(const Dataset& d) {
  const CsrMatrix& m = d.interactions;
  nlohmann::json j;
  j["name"] = d.name;
  j["users"] = d.num_users();
  j["items"] = d.num_items();
  j["interactions"] = d.num_interactions();
  const double cells = static_cast<double>(d.num_users()) * static_cast<double>(d.num_items());
  j["density"] = cells > 0 ? static_cast<double>(d.num_interactions()) / cells : 0.0;
  j["explicit_ratings"] = d.explicit_ratings;
  if (!d.events.empty()) j["events"] = d.events.size();  // --keep-repeats: repeats included
  if (m.nnz() > 0) {
    const auto [lo, hi] = std::minmax_element(m.values().begin(), m.values().end());
    double sum = 0;
    for (float v : m.values()) sum += v;
    j["values"] = {{"min", *lo}, {"max", *hi}, {"mean", sum / static_cast<double>(m.nnz())}};
    std::map<float, std::int64_t> hist;
    for (float v : m.values()) {
      if (hist.size() > 20) break;
      ++hist[v];
    }
    if (hist.size() <= 20) {
      nlohmann::json h = nlohmann::json::array();
      for (auto [v, n] : hist) h.push_back({{"value", v}, {"count", n}});
      j["histogram"] = h;
    }
  }
  if (m.has_times() && m.nnz() > 0) {
    const auto [lo, hi] = std::minmax_element(m.times().begin(), m.times().end());
    j["time_range"] = {format_timestamp(*lo), format_timestamp(*hi)};
  }
  std::vector<index_t> user_lengths(static_cast<std::size_t>(m.rows()));
  for (index_t r = 0; r < m.rows(); ++r) user_lengths[r] = m.row_size(r);
  j["per_user"] = length_stats(std::move(user_lengths));
  // The column counts, not a transposed copy: 9 GB of heap for 765M interactions.
  j["per_item"] = length_stats(m.column_counts());
  j["user_features"] = features(d.user_features);
  j["item_features"] = features(d.item_features);
  return j;
}

void print_summary(const nlohmann::json& j) {
  auto row = [](const char* k, const std::string& v) { fmt::print("{:<15}{}\n", k, v); };
  row("dataset", j["name"].get<std::string>());
  row("users", thousands(j["users"].get<std::int64_t>()));
  row("items", thousands(j["items"].get<std::int64_t>()));
  row("interactions", thousands(j["interactions"].get<std::int64_t>()));
  if (j.contains("events"))
    row("events", fmt::format("{} in time order, repeats kept (--keep-repeats)",
                              thousands(j["events"].get<std::int64_t>())));
  row("density", fmt::format("{:.4f}%", j["density"].get<double>() * 100));
  if (j.contains("values")) {
    const auto& v = j["values"];
    row("values",
        fmt::format("{} {} .. {}, mean {:.3f}",
                    j["explicit_ratings"].get<bool>() ? "ratings" : "weights",
                    v["min"].get<float>(), v["max"].get<float>(), v["mean"].get<double>()));
  }
  if (j.contains("histogram") && j["histogram"].size() > 1) {
    std::int64_t total = j["interactions"].get<std::int64_t>(), top = 0;
    for (const auto& h : j["histogram"]) top = std::max(top, h["count"].get<std::int64_t>());
    bool first = true;
    for (const auto& h : j["histogram"]) {
      const auto n = h["count"].get<std::int64_t>();
      const int bar =
          static_cast<int>(std::lround(30.0 * static_cast<double>(n) / static_cast<double>(top)));
      row(first ? "histogram" : "",
          fmt::format("{:>5} {:>11} {:5.1f}% {}", h["value"].get<float>(), thousands(n),
                      100.0 * static_cast<double>(n) / static_cast<double>(total),
                      std::string(bar, '#')));
      first = false;
    }
  }
  if (j.contains("time_range"))
    row("time range", fmt::format("{} .. {}", j["time_range"][0].get<std::string>(),
                                  j["time_range"][1].get<std::string>()));
  else
    row("time range", "no timestamps");
  for (const char* key : {"per_user", "per_item"}) {
    const auto& s = j[key];
    row(key == std::string("per_user") ? "per user" : "per item",
        fmt::format("min {}, median {}, max {} interactions", s["min"].get<std::int64_t>(),
                    s["median"].get<std::int64_t>(), s["max"].get<std::int64_t>()));
  }
  for (const char* key : {"user_features", "item_features"}) {
    std::string text;
    for (const auto& c : j[key]) {
      if (!text.empty()) text += ", ";
      text += fmt::format("{} ({}", c["name"].get<std::string>(), c["kind"].get<std::string>());
      if (c.contains("labels")) text += fmt::format(", {} labels", c["labels"].get<std::size_t>());
      if (c.contains("dim")) text += fmt::format(", {} values", c["dim"].get<std::int64_t>());
      // Coverage: the share of rows with a value (a feature column most rows lack says little).
      if (c.contains("rows") && c["rows"].get<std::int64_t>() > 0)
        text += fmt::format(", {:.0f}% have one", 100.0 * c["present"].get<double>() /
                                                      c["rows"].get<double>());
      text += ")";
    }
    row(key == std::string("user_features") ? "user features" : "item features",
        text.empty() ? "none" : text);
  }
}

// A ranked list as a table: rank, id, score, title and genres (or tags) when the data has them.
void print_items(const Dataset& d, const std::vector<ScoredItem>& items) {
  const FeatureColumn* title = d.item_features.find("title");
  const FeatureColumn* genres = d.item_features.find("genres");
  if (!genres) genres = d.item_features.find("tags");
  fmt::print("{:>4}  {:<12} {:>10}  {}\n", "rank", "item", "score", title ? "title" : "");
  for (std::size_t r = 0; r < items.size(); ++r) {
    const auto& s = items[r];
    std::string text = title && title->has_value(s.item) ? title->text(s.item) : "";
    if (genres && genres->has_value(s.item)) text += "  [" + genres->format(s.item) + "]";
    fmt::print("{:>4}  {:<12} {:>10.4f}  {}\n", r + 1, d.items.id(s.item), s.score, text);
  }
}

}  // namespace reckon::cli
