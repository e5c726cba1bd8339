// The trials of a search as a table, Markdown, JSON and an SVG chart.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "reckon/tune/tuner.hpp"

namespace reckon {
namespace {

std::string params_text(const Trial& t) {
  std::string s;
  for (const auto& [k, v] : t.params) s += (s.empty() ? "" : " ") + k + "=" + v;
  return s;
}

std::string outcome(const Trial& t, const SearchResult& r) {
  if (!t.error.empty()) return "failed";
  if (t.stopped)
    return fmt::format("stopped ({:.4f} at 1/4 of {})", *t.early_score, r.budget_param);
  return fmt::format("{:.4f}", t.score);
}

std::string xml(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

}  // namespace

std::string trials_table(const SearchResult& r) {
  std::string out = fmt::format("{:>5}  {:>8}  {:<28}  {}\n", "trial", "seconds", r.metric,
                                "parameters");
  for (std::size_t i = 0; i < r.trials.size(); ++i) {
    const Trial& t = r.trials[i];
    out += fmt::format("{:>5}  {:>8.1f}  {:<28}  {}{}\n", t.number, t.seconds, outcome(t, r),
                       params_text(t), r.best && *r.best == i ? "   <- best" : "");
  }
  return out;
}

std::string trials_markdown(const SearchResult& r, const TuneOptions& o) {
  std::string out = fmt::format(
      "# Tuning {}\n\n- search: {} over {}\n- metric: {} on the validation part ({})\n"
      "- trials: {} in {:.0f} s\n\n| trial | seconds | {} | parameters |\n| ---: | ---: | ---: | "
      "--- |\n",
      o.model, o.search, describe(o.space), r.metric,
      r.maximize ? "higher is better" : "lower is better", r.trials.size(), r.seconds, r.metric);
  for (std::size_t i = 0; i < r.trials.size(); ++i) {
    const Trial& t = r.trials[i];
    out += fmt::format("| {}{} | {:.1f} | {} | `{}` |\n", t.number,
                       r.best && *r.best == i ? " (best)" : "", t.seconds, outcome(t, r),
                       params_text(t));
  }
  return out;
}

nlohmann::json trials_json(const SearchResult& r, const TuneOptions& o) {
  nlohmann::json j = {{"model", o.model},
                      {"search", o.search},
                      {"space", describe(o.space)},
                      {"metric", r.metric},
                      {"maximize", r.maximize},
                      {"seconds", r.seconds},
                      {"fixed", o.fixed},
                      {"early_stopping", r.budget_param.empty() ? nlohmann::json(nullptr)
                                                                : nlohmann::json(r.budget_param)}};
  j["trials"] = nlohmann::json::array();
  for (const auto& t : r.trials) {
    nlohmann::json x = {{"number", t.number}, {"params", t.params}, {"seconds", t.seconds},
                        {"stopped", t.stopped}};
    x["score"] = std::isfinite(t.score) ? nlohmann::json(t.score) : nlohmann::json(nullptr);
    if (t.early_score) x["early_score"] = *t.early_score;
    if (!t.error.empty()) x["error"] = t.error;
    j["trials"].push_back(x);
  }
  if (r.best) j["best"] = r.trials[*r.best].number;
  return j;
}

std::string trials_svg(const SearchResult& r, const TuneOptions& o) {
  const double left = 70, top = 60, plot_w = 560, plot_h = 280;
  const double width = left + plot_w + 40, height = top + plot_h + 60;
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& t : r.trials) {
    for (double v : {t.score, t.early_score.value_or(NAN)})
      if (std::isfinite(v)) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
  }
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (hi - lo < 1e-12) lo -= 0.5 * std::max(1e-6, std::abs(lo)), hi += 0.5 * std::max(1e-6, std::abs(hi));
  const double pad = 0.05 * (hi - lo);
  lo -= pad;
  hi += pad;
  const std::size_t n = std::max<std::size_t>(r.trials.size(), 1);
  const auto x_of = [&](std::size_t number) {
    return left + plot_w * (static_cast<double>(number) - 0.5) / static_cast<double>(n);
  };
  const auto y_of = [&](double v) { return top + plot_h * (1 - (v - lo) / (hi - lo)); };
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" "
      "fill=\"white\"/>\n",
      width, height);
  s += fmt::format("<text x=\"{}\" y=\"22\" font-size=\"15\" font-weight=\"bold\">{}</text>\n", left,
                   xml(fmt::format("reckon tune {}: {} on validation, {} trials", o.model,
                                   r.metric, r.trials.size())));
  s += fmt::format(
      "<text x=\"{}\" y=\"40\" fill=\"#444\">{}</text>\n", left,
      xml(fmt::format("{} search; filled: full fit, hollow: stopped early; line: best so far "
                      "({})",
                      o.search, r.maximize ? "higher is better" : "lower is better")));
  s += fmt::format(
      "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#333\"/><line x1=\"{0}\" "
      "y1=\"{2}\" x2=\"{3}\" y2=\"{2}\" stroke=\"#333\"/>\n",
      left, top, top + plot_h, left + plot_w);
  for (int i = 0; i <= 4; ++i) {
    const double v = lo + (hi - lo) * i / 4.0;
    s += fmt::format(
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{:.4f}</text><line x1=\"{:.1f}\" "
        "y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n",
        left - 6, y_of(v) + 4, v, left, y_of(v), left + plot_w, y_of(v));
  }
  s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">trial</text>\n",
                   left + plot_w / 2, top + plot_h + 36);
  std::string path;
  double best = NAN;
  for (const auto& t : r.trials) {
    const double x = x_of(t.number);
    if (t.stopped && t.early_score) {
      s += fmt::format(
          "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"none\" stroke=\"#D55E00\"><title>"
          "trial {}: stopped early, {:.4f}</title></circle>\n",
          x, y_of(*t.early_score), t.number, *t.early_score);
    } else if (std::isfinite(t.score)) {
      s += fmt::format(
          "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"#0072B2\"><title>trial {}: {:.4f} "
          "{}</title></circle>\n",
          x, y_of(t.score), t.number, t.score, xml(params_text(t)));
      if (!std::isfinite(best) || (r.maximize ? t.score > best : t.score < best)) best = t.score;
    }
    if (std::isfinite(best))
      path += fmt::format("{}{:.1f},{:.1f}", path.empty() ? "M" : " L", x, y_of(best));
    if (n <= 40 || t.number % 5 == 0)
      s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", x,
                       top + plot_h + 16, t.number);
  }
  if (!path.empty())
    s += "<path d=\"" + path + "\" fill=\"none\" stroke=\"#009E73\" stroke-width=\"2\"/>\n";
  s += "</svg>\n";
  return s;
}

}  // namespace reckon
