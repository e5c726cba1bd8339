// reckon export: a dataset (or a part reckon split wrote) or every user's recommendations to
// CSV or JSON lines, for people who load results elsewhere. Written through a temporary file:
// a failed export leaves no half file.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "commands.hpp"
#include "prep_flags.hpp"
#include "reckon/core/error.hpp"
#include "reckon/core/files.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/core/threads.hpp"
#include "reckon/io/dataset_file.hpp"
#include "reckon/io/text.hpp"
#include "reckon/retrieval/recommender.hpp"

namespace reckon::cli {
namespace {

bool jsonl_output(const std::string& out, const std::string& format) {
  if (format == "jsonl") return true;
  if (format == "csv") return false;
  RECKON_CHECK(format == "auto", "--to: expected csv, jsonl or auto, got \"{}\"", format);
  return out.ends_with(".jsonl") || out.ends_with(".json") || out.ends_with(".ndjson");
}

// RFC 4180: quoted when it holds a comma, a quote or a line break.
std::string csv(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

void export_dataset(const Dataset& d, const std::string& out, bool jsonl) {
  AtomicFile file(out);
  const CsrMatrix& m = d.interactions;
  std::string buf;
  if (!jsonl) buf = "user_id,item_id,value,timestamp\n";
  Progress progress("export", static_cast<double>(m.rows()), "users");
  for (index_t u = 0; u < m.rows(); ++u) {
    const auto idx = m.row_indices(u);
    const auto val = m.row_values(u);
    for (std::size_t k = 0; k < idx.size(); ++k) {
      const std::int64_t t = m.has_times() ? m.row_times(u)[k] : kNoTime;
      if (jsonl) {
        nlohmann::json j = {{"user_id", d.users.id(u)},
                            {"item_id", d.items.id(idx[k])},
                            {"value", val[k]}};
        if (t != kNoTime) j["timestamp"] = t;
        buf += j.dump();
        buf += '\n';
      } else {
        buf += fmt::format("{},{},{},{}\n", csv(d.users.id(u)), csv(d.items.id(idx[k])), val[k],
                           t == kNoTime ? std::string() : std::to_string(t));
      }
    }
    if (buf.size() > (1 << 20)) {
      file.write(buf);
      buf.clear();
    }
    progress.update(static_cast<double>(u + 1));
  }
  file.write(buf);
  file.commit();
  progress.finish();
  fmt::print("wrote {}: {} interactions of {} users\n", out, m.nnz(), m.rows());
}

void export_recommendations(const TrainedModel& t, const std::string& out, bool jsonl,
                            std::size_t k, int threads) {
  const Recommender rec(t);
  const Dataset& d = *t.train;
  AtomicFile file(out);
  if (!jsonl) file.write("user_id,rank,item_id,score,source\n");
  const index_t n = d.num_users();
  const int workers = std::max(1, set_thread_budget(threads));
  constexpr index_t kBlock = 2048;  // users computed in parallel, then written in order
  std::vector<std::string> parts(static_cast<std::size_t>(workers));
  Progress progress("export recommendations", static_cast<double>(n), "users");
  for (index_t begin = 0; begin < n; begin += kBlock) {
    const index_t end = std::min(n, begin + kBlock);
    std::vector<std::thread> pool;
    const index_t per = (end - begin + workers - 1) / workers;
    for (int w = 0; w < workers; ++w) {
      pool.emplace_back([&, w] {
        std::string& s = parts[static_cast<std::size_t>(w)];
        s.clear();
        const index_t lo = begin + w * per, hi = std::min(end, lo + per);
        for (index_t u = lo; u < hi; ++u) {
          const std::string& id = d.users.id(u);
          const Recommendation r = rec.for_user(id, k);
          if (jsonl) {
            nlohmann::json items = nlohmann::json::array();
            for (const auto& it : r.items)
              items.push_back({{"item_id", d.items.id(it.item)}, {"score", it.score}});
            s += nlohmann::json{{"user_id", id}, {"source", r.source}, {"items", items}}.dump();
            s += '\n';
          } else {
            for (std::size_t j = 0; j < r.items.size(); ++j)
              s += fmt::format("{},{},{},{},{}\n", csv(id), j + 1,
                               csv(d.items.id(r.items[j].item)), r.items[j].score, r.source);
          }
        }
      });
    }
    for (auto& th : pool) th.join();
    for (const auto& s : parts) file.write(s);
    progress.update(static_cast<double>(end));
  }
  file.commit();
  progress.finish();
  fmt::print("wrote {}: top {} for each of {} users ({})\n", out, k, n, t.model->name());
}

}  // namespace

void add_export_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "export",
      "write a dataset (or a split part) as CSV/JSONL, or with --recommendations every user's "
      "top-k of a model");
  static std::string source, output, to = "auto";
  static bool recommendations = false;
  static std::size_t k = 10;
  static int threads = 0;
  static ImportFlags import_flags;
  cmd->add_option("SOURCE", source, "a .rkd file (reckon split's parts too), a raw source, or a "
                                    ".rkm model with --recommendations")
      ->required();
  cmd->add_option("-o,--output", output, "the file to write (.csv or .jsonl)")->required();
  cmd->add_option("--to", to, "what to write: csv, jsonl, or auto (from the output's name)")
      ->capture_default_str();
  cmd->add_flag("--recommendations", recommendations,
                "SOURCE is a model: write each training user's top-k with scores");
  cmd->add_option("-k", k, "recommendations per user")->check(CLI::Range(1, 10000))
      ->capture_default_str();
  cmd->add_option("--threads", threads, "threads for --recommendations (0: all this process may use)");
  add_import_flags(cmd, import_flags);
  cmd->callback([] {
    const bool jsonl = jsonl_output(output, to);
    if (recommendations)
      export_recommendations(load_model_file(source), output, jsonl, k, threads);
    else
      export_dataset(read_data(source, import_flags), output, jsonl);
  });
}

}  // namespace reckon::cli
