// LightGCN / NGCF split files: one line per user, "user item item ...", separated by spaces.
#include "readers.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/io/line_reader.hpp"
#include "reckon/io/text.hpp"

namespace reckon::detail {

void read_lightgcn(const fs::path& file, InteractionBuilder& b) {
  LineReader in(file);
  Progress progress("import " + file.filename().string(), static_cast<double>(in.file_size()), "MB",
                    1e6);
  in.attach(&progress);
  b.reserve(b.size() + static_cast<std::size_t>(in.text_size() / 5));
  std::string_view line;
  while (in.next(line)) {
    std::size_t pos = 0;
    auto next_token = [&]() -> std::string_view {
      while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
      const std::size_t start = pos;
      while (pos < line.size() && line[pos] != ' ' && line[pos] != '\t') ++pos;
      return line.substr(start, pos - start);
    };
    const std::string_view user = next_token();
    if (user.empty()) continue;  // blank line
    if (!parse_int(user))
      in.fail("an integer user id at the start of the line (\"user item item ...\")", user);
    const index_t u = b.user(user);
    for (std::string_view item = next_token(); !item.empty(); item = next_token()) {
      if (!parse_int(item)) in.fail("integer item ids separated by spaces", item);
      b.add(u, b.item(item), 1.0f);
    }
  }
  progress.finish();
}

}  // namespace reckon::detail
