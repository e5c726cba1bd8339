#include "reckon/core/files.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "reckon/core/binary_io.hpp"
#include "reckon/core/error.hpp"

namespace reckon {
namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::error_code ec;
  RECKON_CHECK(!fs::is_directory(path, ec), "{}: is a directory, expected a file", path.string());
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw IoError(fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
  std::string out;
  if (std::fseek(f, 0, SEEK_END) == 0) {
    const long size = std::ftell(f);
    if (size > 0) out.reserve(static_cast<std::size_t>(size));
    std::fseek(f, 0, SEEK_SET);
  }
  char buf[1 << 16];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  const bool failed = std::ferror(f);
  std::fclose(f);
  if (failed) throw IoError(fmt::format("{}: read error", path.string()));
  return out;
}

namespace {

// Where an output named `requested` goes: the file itself, or the target of a symlink (written
// through, so the link stays). A device, FIFO, socket or directory is refused: renaming a file
// over /dev/full would replace the device node.
fs::path output_target(const fs::path& requested) {
  fs::path path = requested;
  std::error_code ec;
  for (int hops = 0; fs::is_symlink(fs::symlink_status(path, ec)); ++hops) {
    RECKON_CHECK(hops < 40, "{}: too many levels of symbolic links", requested.string());
    fs::path next = fs::read_symlink(path, ec);
    if (ec) throw IoError(fmt::format("{}: cannot read the link: {}", path.string(), ec.message()));
    path = next.is_absolute() ? next : path.parent_path() / next;
  }
  const auto st = fs::status(path, ec);
  RECKON_CHECK(!fs::exists(st) || fs::is_regular_file(st),
               "{}: is not a regular file ({}); reckon writes its outputs only to regular files",
               requested.string(),
               fs::is_directory(st) ? "a directory"
               : fs::is_fifo(st)    ? "a FIFO"
               : fs::is_socket(st)  ? "a socket"
                                    : "a device");
  return path;
}

}  // namespace

AtomicFile::AtomicFile(const fs::path& requested) : path_(output_target(requested)) {
  static std::atomic<unsigned> counter{0};
  const fs::path dir = path_.has_parent_path() ? path_.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::exists(dir, ec))
    throw IoError(fmt::format("{}: directory {} does not exist", path_.string(), dir.string()));
  tmp_ = fs::path(path_.string() + ".tmp" + std::to_string(::getpid()) + "-" +
                  std::to_string(counter++));
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw IoError(fmt::format("{}: cannot create: {}", tmp_.string(), std::strerror(errno)));
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) {
    std::error_code ec;
    fs::remove(tmp_, ec);
  }
}

void AtomicFile::write(std::string_view bytes) {
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t w = ::write(fd_, p, left);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw IoError(fmt::format("{}: write failed: {}", path_.string(), std::strerror(errno)));
    }
    p += w;
    left -= static_cast<std::size_t>(w);
  }
}

void AtomicFile::write_at(std::uint64_t offset, std::string_view bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::pwrite(fd_, bytes.data() + done, bytes.size() - done,
                               static_cast<off_t>(offset + done));
    if (w < 0) {
      if (errno == EINTR) continue;
      throw IoError(fmt::format("{}: write failed: {}", path_.string(), std::strerror(errno)));
    }
    done += static_cast<std::size_t>(w);
  }
}

void AtomicFile::commit() {
  const int fd = fd_;
  fd_ = -1;
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    throw IoError(fmt::format("{}: cannot flush: {}", path_.string(), std::strerror(errno)));
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0)
    throw IoError(
        fmt::format("{}: cannot rename into place: {}", path_.string(), std::strerror(errno)));
  committed_ = true;
}

void write_file_atomic(const fs::path& requested, std::string_view bytes) {
  AtomicFile f(requested);
  f.write(bytes);
  f.commit();
}

std::uint32_t checksum32(std::string_view bytes) {
  // XXH3 (tens of GB/s) keeps checksumming far below the cost of reading the file; the low 32
  // bits are plenty to catch damage.
  return static_cast<std::uint32_t>(XXH3_64bits(bytes.data(), bytes.size()));
}

namespace {

std::string encode_header(std::string_view magic, std::uint32_t version,
                          const std::vector<std::uint64_t>& fields, std::uint64_t body_size,
                          std::uint32_t body_sum) {
  BinaryWriter w;
  std::string m(magic);
  m.resize(8, '\0');
  for (char c : m) w.put(c);
  w.put<std::uint32_t>(version);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(fields.size()));
  for (auto f : fields) w.put<std::uint64_t>(f);
  w.put<std::uint64_t>(body_size);
  w.put<std::uint32_t>(body_sum);
  std::string header = std::move(w).take();
  const std::uint32_t header_sum = checksum32(header);
  header.append(reinterpret_cast<const char*>(&header_sum), sizeof header_sum);
  return header;
}

// Parses the header at the start of `data`; returns the header size.
std::size_t decode_header(std::string_view data, const std::string& what, std::string_view magic,
                          std::uint32_t max_version, std::string_view kind, CheckedFile& out,
                          std::uint64_t& body_size, std::uint32_t& body_sum) {
  std::string m(magic);
  m.resize(8, '\0');
  RECKON_CHECK(data.size() >= 8 && data.substr(0, 8) == m, "{}: not a {} file (bad magic bytes)",
               what, kind);
  BinaryReader r(data.substr(8), what);
  out.version = r.get<std::uint32_t>();
  RECKON_CHECK(out.version >= 1 && out.version <= max_version,
               "{}: {} format version {} is not supported by this reckon (reads versions 1 to {})",
               what, kind, out.version, max_version);
  const auto n_fields = r.get<std::uint32_t>();
  RECKON_CHECK(n_fields <= 64, "{}: corrupt header ({} fields)", what, n_fields);
  out.fields.resize(n_fields);
  for (auto& f : out.fields) f = r.get<std::uint64_t>();
  body_size = r.get<std::uint64_t>();
  body_sum = r.get<std::uint32_t>();
  const std::size_t header_size = 8 + 4 + 4 + 8 * n_fields + 8 + 4;
  const auto stored_header_sum = r.get<std::uint32_t>();
  RECKON_CHECK(stored_header_sum == checksum32(data.substr(0, header_size)),
               "{}: corrupt header (checksum mismatch)", what);
  return header_size + 4;
}

}  // namespace

void write_checked_file(const fs::path& path, std::string_view magic, std::uint32_t version,
                        const std::vector<std::uint64_t>& fields, std::string_view body) {
  // Through the streaming writer: a body of a chunk or more goes to the file uncopied.
  write_checked_file(path, magic, version, fields, [&](BinaryWriter& w) { w.put_raw(body); });
}

void write_checked_file(const fs::path& path, std::string_view magic, std::uint32_t version,
                        const std::vector<std::uint64_t>& fields,
                        const std::function<void(BinaryWriter&)>& write_body) {
  AtomicFile f(path);
  // The header's size does not depend on what it says: a placeholder now, the real one once
  // the body's size and checksum are known.
  const std::size_t header_size = encode_header(magic, version, fields, 0, 0).size();
  f.write(std::string(header_size, '\0'));
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(XXH3_createState(),
                                                                  &XXH3_freeState);
  RECKON_ASSERT(state != nullptr && XXH3_64bits_reset(state.get()) == XXH_OK);
  BinaryWriter w([&](std::string_view bytes) {
    XXH3_64bits_update(state.get(), bytes.data(), bytes.size());
    f.write(bytes);
  });
  write_body(w);
  w.flush();
  const auto body_sum = static_cast<std::uint32_t>(XXH3_64bits_digest(state.get()));
  const std::string header = encode_header(magic, version, fields, w.size(), body_sum);
  RECKON_ASSERT(header.size() == header_size);
  f.write_at(0, header);
  f.commit();
}

namespace {

// A read-only memory map of a whole file, unmapped when the last owner lets go.
std::shared_ptr<const void> map_file(const fs::path& path, std::size_t& size) {
  std::error_code ec;
  RECKON_CHECK(!fs::is_directory(path, ec), "{}: is a directory, expected a file", path.string());
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw IoError(fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    throw IoError(fmt::format("{}: cannot stat: {}", path.string(), std::strerror(errno)));
  }
  size = static_cast<std::size_t>(st.st_size);
  if (size == 0) {
    ::close(fd);
    return std::shared_ptr<const void>(static_cast<const void*>(""), [](const void*) {});
  }
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED)
    throw IoError(fmt::format("{}: cannot map: {}", path.string(), std::strerror(errno)));
  return std::shared_ptr<const void>(
      p, [size](const void* q) { ::munmap(const_cast<void*>(q), size); });
}

}  // namespace

CheckedFile read_checked_file(const fs::path& path, std::string_view magic,
                              std::uint32_t max_version, std::string_view kind) {
  std::size_t size = 0;
  CheckedFile out;
  out.storage = map_file(path, size);
  const std::string_view data(static_cast<const char*>(out.storage.get()), size);
  std::uint64_t body_size = 0;
  std::uint32_t body_sum = 0;
  const std::size_t offset =
      decode_header(data, path.string(), magic, max_version, kind, out, body_size, body_sum);
  RECKON_CHECK(data.size() - offset == body_size,
               "{}: truncated or padded {} file: body has {} bytes, header says {}", path.string(),
               kind, data.size() - offset, body_size);
  out.body = data.substr(offset);
  RECKON_CHECK(checksum32(out.body) == body_sum, "{}: corrupt {} file (checksum mismatch)",
               path.string(), kind);
  return out;
}

namespace {

void bus_error_exit(int) {
  // Only async-signal-safe calls here: write(2) and _exit(2).
  static constexpr char kMessage[] =
      "reckon: error: a file this command reads in place (a .rkd or .rkm) was truncated or "
      "rewritten while in use (bus error). Replace such files by rename (mv, or write to a new "
      "name), never by copying over them.\n";
  [[maybe_unused]] const auto n = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  ::_exit(1);
}

}  // namespace

void exit_clearly_on_bus_error() {
  struct sigaction action {};
  action.sa_handler = bus_error_exit;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGBUS, &action, nullptr);
}

CheckedFile read_checked_header(const fs::path& path, std::string_view magic,
                                std::uint32_t max_version, std::string_view kind) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
  std::string head(8 + 4 + 4 + 8 * 64 + 8 + 4 + 4, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  CheckedFile out;
  std::uint64_t body_size = 0;
  std::uint32_t body_sum = 0;
  decode_header(head, path.string(), magic, max_version, kind, out, body_size, body_sum);
  return out;
}

}  // namespace reckon
