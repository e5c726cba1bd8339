#include "reckon/eval/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>

#include "reckon/eval/metrics.hpp"

namespace reckon {

std::vector<std::string> metric_columns(const Report& report) {
  std::set<std::string> present;
  for (const auto& m : report.models)
    for (const auto& [name, v] : m.metrics) present.insert(name);
  // Registered order, then by k.
  std::vector<std::string> out;
  for (const auto& info : registered_metrics()) {
    std::vector<std::pair<long, std::string>> at;
    for (const auto& p : present) {
      const auto pos = p.find('@');
      const std::string base = p.substr(0, pos);
      if (base != info.name) continue;
      at.emplace_back(pos == std::string::npos ? 0 : std::stol(p.substr(pos + 1)), p);
    }
    std::sort(at.begin(), at.end());
    for (auto& [k, name] : at) out.push_back(name);
  }
  return out;
}

nlohmann::json describe_dataset(const std::string& name, index_t users, index_t items,
                                index_t train_interactions, index_t test_interactions) {
  return {{"name", name},
          {"users", users},
          {"items", items},
          {"train_interactions", train_interactions},
          {"test_interactions", test_interactions}};
}

nlohmann::json to_json(const Report& r) {
  nlohmann::json j;
  j["dataset"] = r.dataset;
  j["protocol"] = r.protocol;
  if (!r.provenance.is_null()) j["provenance"] = r.provenance;
  j["models"] = nlohmann::json::array();
  for (const auto& m : r.models) {
    nlohmann::json metrics = nlohmann::json::object();
    for (const auto& [k, v] : m.metrics) metrics[k] = v;
    j["models"].push_back({{"name", m.name},
                           {"params", m.params},
                           {"fit_seconds", m.fit_seconds},
                           {"evaluate_seconds", m.evaluate_seconds},
                           {"peak_rss_mb", m.peak_rss_mb},
                           {"users_evaluated", m.users},
                           {"metrics", metrics}});
    if (!m.retrieval.empty()) j["models"].back()["retrieval"] = m.retrieval;
  }
  return j;
}

namespace {

std::string protocol_line(const Report& r) {
  const auto& p = r.protocol;
  std::string s = fmt::format("split {}", p.value("split", "?"));
  // Rating-only reports have no candidates: nothing was ranked.
  if (p.contains("candidates")) {
    s += fmt::format(", candidates {}", p.value("candidates", "?"));
    if (p.value("candidates", "") != "all-unseen")
      s += " (SAMPLED: not comparable with full ranking)";
  }
  if (p.contains("seed")) s += fmt::format(", seed {}", p["seed"].dump());
  return s;
}

std::string dataset_line(const Report& r) {
  const auto& d = r.dataset;
  return fmt::format("{}: {} users, {} items, {} train / {} test interactions",
                     d.value("name", "?"), d.value("users", 0), d.value("items", 0),
                     d.value("train_interactions", 0), d.value("test_interactions", 0));
}

std::string format_value(double v) {
  return std::abs(v) >= 100 ? fmt::format("{:.1f}", v) : fmt::format("{:.4f}", v);
}

}  // namespace

std::string to_console(const Report& r) {
  const auto cols = metric_columns(r);
  std::string out = "dataset  " + dataset_line(r) + "\nprotocol " + protocol_line(r) + "\n\n";
  std::size_t name_w = 5;
  for (const auto& m : r.models) name_w = std::max(name_w, m.name.size());
  out += fmt::format("{:<{}}  {:>8} {:>8} {:>8}", "model", name_w, "fit s", "eval s", "peak MB");
  for (const auto& c : cols) out += fmt::format(" {:>{}}", c, std::max<std::size_t>(c.size(), 8));
  out += "\n";
  for (const auto& m : r.models) {
    out += fmt::format("{:<{}}  {:>8.2f} {:>8.2f} {:>8.0f}", m.name, name_w, m.fit_seconds,
                       m.evaluate_seconds, m.peak_rss_mb);
    for (const auto& c : cols) {
      auto it = m.metrics.find(c);
      out += fmt::format(" {:>{}}", it == m.metrics.end() ? "-" : format_value(it->second),
                         std::max<std::size_t>(c.size(), 8));
    }
    out += "\n";
  }
  return out;
}

std::string to_markdown(const Report& r) {
  const auto cols = metric_columns(r);
  std::string out = "# Evaluation\n\n";
  out += "- dataset: " + dataset_line(r) + "\n- protocol: " + protocol_line(r) + "\n\n";
  out += "| model | fit s | eval s | peak MB |";
  for (const auto& c : cols) out += " " + c + " |";
  out += "\n| --- | ---: | ---: | ---: |";
  for (std::size_t i = 0; i < cols.size(); ++i) out += " ---: |";
  out += "\n";
  for (const auto& m : r.models) {
    out += fmt::format("| {} | {:.2f} | {:.2f} | {:.0f} |", m.name, m.fit_seconds,
                       m.evaluate_seconds, m.peak_rss_mb);
    for (const auto& c : cols) {
      auto it = m.metrics.find(c);
      out +=
          fmt::format(" {} |", it == m.metrics.end() ? std::string("-") : format_value(it->second));
    }
    out += "\n";
  }
  out += "\nParameters:\n\n";
  for (const auto& m : r.models) out += fmt::format("- {}: `{}`\n", m.name, m.params.dump());
  if (!r.provenance.is_null()) {
    out += "\nReproduce:\n\n";
    for (const auto& [key, value] : r.provenance.items())
      out += fmt::format("- {}: `{}`\n", key, value.is_string() ? value.get<std::string>()
                                                                 : value.dump());
  }
  return out;
}

namespace {
std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}
}  // namespace

std::string to_svg(const Report& r) {
  // Colour-blind-safe palette (Okabe-Ito).
  static const char* colours[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7",
                                  "#56B4E9", "#D55E00", "#F0E442", "#000000"};
  const auto cols = metric_columns(r);
  const std::size_t n_models = std::max<std::size_t>(r.models.size(), 1);
  const double bar_w = 22, gap = 28, plot_h = 260, top = 90, left = 40;
  std::size_t longest = 0;
  for (const auto& c : cols) longest = std::max(longest, c.size());
  // Wide enough for the bars and for the metric's name under them.
  const double group_w = std::max(bar_w * static_cast<double>(n_models) + gap,
                                  7.0 * static_cast<double>(longest) + 12);
  // Wide enough for the title (bold 15 px: about 8.5 px a character), the protocol line and
  // the legend too: with one or two metrics the bars alone left the title clipped.
  const std::string title = "reckon evaluation: " + dataset_line(r);
  const std::string protocol = protocol_line(r);
  double legend_w = 0;
  for (const auto& m : r.models) legend_w += 30 + 7.0 * static_cast<double>(m.name.size());
  const double width =
      std::max({520.0, left * 2 + group_w * static_cast<double>(cols.size()),
                left * 2 + 8.5 * static_cast<double>(title.size()),
                left * 2 + 6.2 * static_cast<double>(protocol.size()), left * 2 + legend_w});
  const double height = top + plot_h + 90;
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" "
      "fill=\"white\"/>\n",
      width, height);
  s += fmt::format("<text x=\"{}\" y=\"22\" font-size=\"15\" font-weight=\"bold\">{}</text>\n",
                   left, xml_escape(title));
  s += fmt::format("<text x=\"{}\" y=\"40\" fill=\"#444\">{}</text>\n", left,
                   xml_escape(protocol));
  s += fmt::format(
      "<text x=\"{}\" y=\"56\" fill=\"#666\">bars are scaled within each metric; the value is "
      "printed above each bar</text>\n",
      left);
  // Legend.
  double lx = left;
  for (std::size_t m = 0; m < r.models.size(); ++m) {
    s += fmt::format(
        "<rect x=\"{}\" y=\"66\" width=\"12\" height=\"12\" fill=\"{}\"/>"
        "<text x=\"{}\" y=\"76\">{}</text>\n",
        lx, colours[m % 8], lx + 16, xml_escape(r.models[m].name));
    lx += 30 + 7.0 * static_cast<double>(r.models[m].name.size());
  }
  const double base = top + plot_h;
  std::string labels;
  s += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#333\"/>\n", left - 5,
                   base, width - left + 5, base);
  for (std::size_t c = 0; c < cols.size(); ++c) {
    double vmax = 0;
    for (const auto& m : r.models) {
      auto it = m.metrics.find(cols[c]);
      if (it != m.metrics.end()) vmax = std::max(vmax, std::abs(it->second));
    }
    const double gx = left + group_w * static_cast<double>(c);
    for (std::size_t m = 0; m < r.models.size(); ++m) {
      auto it = r.models[m].metrics.find(cols[c]);
      if (it == r.models[m].metrics.end()) continue;
      const double v = it->second;
      const double h = vmax > 0 ? plot_h * 0.85 * std::abs(v) / vmax : 0;
      const double x = gx + bar_w * static_cast<double>(m);
      s += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" "
          "fill=\"{}\"><title>{} {}: {}</title></rect>\n",
          x, base - h, bar_w - 2, h, colours[m % 8], xml_escape(r.models[m].name),
          xml_escape(cols[c]), format_value(v));
      // Labels go on top of every bar (drawn last), with a white halo to stay readable.
      labels += fmt::format(
          "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"9\" text-anchor=\"start\" "
          "stroke=\"white\" stroke-width=\"3\" paint-order=\"stroke\" "
          "transform=\"rotate(-60 {:.1f} {:.1f})\">{}</text>\n",
          x + bar_w / 2, base - h - 3, x + bar_w / 2, base - h - 3, format_value(v));
    }
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n",
                     gx + bar_w * static_cast<double>(r.models.size()) / 2, base + 16,
                     xml_escape(cols[c]));
  }
  s += labels;
  s += "</svg>\n";
  return s;
}

double peak_rss_mb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

void reset_peak_rss() {
  // Writing 5 to clear_refs resets the peak RSS counter (Linux >= 4.0); harmless elsewhere.
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
}

}  // namespace reckon
