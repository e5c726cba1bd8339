#include "reckon/io/line_reader.hpp"

#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "reckon/core/error.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/io/text.hpp"

namespace reckon {
namespace fs = std::filesystem;

namespace {
constexpr std::size_t kChunk = 1u << 20;

// Excel and Notepad start UTF-8 files with a byte-order mark; it is not part of the first field.
void strip_bom(std::string_view& line) {
  if (line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
}
}  // namespace

LineReader::LineReader(const fs::path& path, std::size_t max_line)
    : name_(path.string()), max_line_(max_line) {
  std::error_code ec;
  RECKON_CHECK(!fs::is_directory(path, ec), "{}: is a directory, expected a file", name_);
  if (!fs::exists(path, ec)) throw IoError(fmt::format("{}: no such file", name_));
  file_size_ = fs::file_size(path, ec);
  text_size_ = file_size_;
  if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
    unsigned char magic[2] = {0, 0};
    if (std::fread(magic, 1, 2, f) == 2 && magic[0] == 0x1f && magic[1] == 0x8b &&
        file_size_ >= 18 && std::fseek(f, -4, SEEK_END) == 0) {
      unsigned char isize[4];
      if (std::fread(isize, 1, 4, f) == 4)
        text_size_ = isize[0] | (isize[1] << 8) | (isize[2] << 16) |
                     (static_cast<std::uint64_t>(isize[3]) << 24);
    }
    std::fclose(f);
  }
  gz_ = gzopen(path.c_str(), "rb");
  if (!gz_) throw IoError(fmt::format("{}: cannot open: {}", name_, std::strerror(errno)));
  gzbuffer(static_cast<gzFile>(gz_), 1u << 18);
  buffer_.resize(kChunk * 2);
}

LineReader::~LineReader() {
  if (gz_) gzclose(static_cast<gzFile>(gz_));
}

std::uint64_t LineReader::bytes_read() const {
  if (!gz_) return file_size_;
  const auto off = gzoffset(static_cast<gzFile>(gz_));
  return off < 0 ? 0 : static_cast<std::uint64_t>(off);
}

bool LineReader::fill() {
  if (eof_) return false;
  // Move the unconsumed tail to the front, grow if a single line needs more room.
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (buffer_.size() - end_ < kChunk) buffer_.resize(buffer_.size() + kChunk);
  auto* gz = static_cast<gzFile>(gz_);
  const int n = gzread(gz, buffer_.data() + end_, static_cast<unsigned>(buffer_.size() - end_));
  int err = Z_OK;
  const char* msg = gzerror(gz, &err);
  if (n < 0 || (err != Z_OK && err != Z_STREAM_END)) {
    if (err == Z_BUF_ERROR)
      fail_message("compressed file is truncated (unexpected end of gzip stream)");
    fail_message(fmt::format("cannot decompress: {}", msg ? msg : "read error"));
  }
  if (n == 0) {
    eof_ = true;
    return false;
  }
  end_ += static_cast<std::size_t>(n);
  if (progress_) progress_->update(static_cast<double>(bytes_read()));
  return true;
}

bool LineReader::next(std::string_view& line) {
  std::size_t scanned = begin_;
  while (true) {
    const void* nl = std::memchr(buffer_.data() + scanned, '\n', end_ - scanned);
    if (nl) {
      const std::size_t pos =
          static_cast<std::size_t>(static_cast<const char*>(nl) - buffer_.data());
      std::size_t len = pos - begin_;
      ++line_number_;
      if (len > max_line_) fail_message(fmt::format("line is longer than {} bytes", max_line_));
      if (len > 0 && buffer_[begin_ + len - 1] == '\r') --len;
      line = std::string_view(buffer_.data() + begin_, len);
      begin_ = pos + 1;
      if (line_number_ == 1) strip_bom(line);
      return true;
    }
    if (end_ - begin_ > max_line_) {
      ++line_number_;
      fail_message(fmt::format("line is longer than {} bytes", max_line_));
    }
    const std::size_t pending = end_ - begin_;
    if (!fill()) {
      if (end_ == begin_) return false;
      // Last line without a newline.
      std::size_t len = end_ - begin_;
      ++line_number_;
      if (len > 0 && buffer_[begin_ + len - 1] == '\r') --len;
      line = std::string_view(buffer_.data() + begin_, len);
      begin_ = end_;
      if (line_number_ == 1) strip_bom(line);
      return true;
    }
    scanned = begin_ + pending;  // fill() moved the data to the front
  }
}

void LineReader::fail(std::string_view expected, std::string_view got) const {
  fail_message(fmt::format("expected {}, got \"{}\"", expected, excerpt(got)));
}

void LineReader::fail_message(std::string_view message) const {
  // Before the first line there is no line number to give.
  if (line_number_ == 0) throw InvalidInput(fmt::format("{}: {}", name_, message));
  throw InvalidInput(fmt::format("{}:{}: {}", name_, line_number_, message));
}

}  // namespace reckon
