#include "provenance.hpp"

#include "reckon/io/data_registry.hpp"
#include "reckon/io/database.hpp"
#include "reckon/io/text.hpp"
#include "reckon/version.hpp"

namespace reckon::cli {
namespace {
std::vector<std::string>& args() {
  static std::vector<std::string> a;
  return a;
}
}  // namespace

void set_command_line(int argc, char** argv) {
  args().assign(argv, argv + argc);
  if (!args().empty()) args()[0] = "reckon";
}

const std::vector<std::string>& command_line() { return args(); }

nlohmann::json provenance(const std::vector<std::string>& sources, const PrepFlags& prep) {
  nlohmann::json j;
  j["reckon_version"] = std::string(kVersion);
  std::string cmd;
  for (const auto& a : command_line()) {
    const bool quote = a.find_first_of(" \t\"'()$") != std::string::npos;
    cmd += (cmd.empty() ? "" : " ") + (quote ? "'" + a + "'" : a);
  }
  j["command"] = cmd;
  nlohmann::json data = nlohmann::json::array();
  for (const auto& s : sources) {
    if (is_database_url(s)) {  // a database has no file digest; the query is in the command
      data.push_back({{"source", without_password(s)}});
      continue;
    }
    const auto path = resolve_data_source(s);
    data.push_back({{"source", s}, {"path", path.string()}, {"sha256", source_digest(path)}});
  }
  j["data"] = data;
  nlohmann::json p = nlohmann::json::object();
  if (prep.filters.min_user_interactions > 0) p["min_user"] = prep.filters.min_user_interactions;
  if (prep.filters.min_item_interactions > 0) p["min_item"] = prep.filters.min_item_interactions;
  if (prep.filters.kcore > 0) p["kcore"] = prep.filters.kcore;
  if (prep.min_rating) p["min_rating"] = *prep.min_rating;
  p["weight"] = prep.weight.empty() ? "none (raw values)" : prep.weight;
  if (prep.half_life_days > 0) p["half_life_days"] = prep.half_life_days;
  j["prep"] = p;
  return j;
}

}  // namespace reckon::cli
