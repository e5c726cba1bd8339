#include "reckon/core/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>

namespace reckon {
namespace {
std::atomic<bool> g_enabled{true};

std::string format_duration(double seconds) {
  if (seconds < 0 || seconds > 1e7) return "?";
  const auto s = static_cast<long>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s / 60) % 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}
}  // namespace

void Progress::set_enabled(bool enabled) { g_enabled = enabled; }
bool Progress::enabled() { return g_enabled; }

Progress::Progress(std::string label, double total, std::string unit, double unit_scale)
    : label_(std::move(label)),
      total_(total),
      unit_(std::move(unit)),
      unit_scale_(unit_scale),
      tty_(::isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() { finish(); }

void Progress::update(double done) {
  std::lock_guard lock(mutex_);
  done_ = done;
  if (!g_enabled || finished_) return;
  const auto now = std::chrono::steady_clock::now();
  const auto interval = tty_ ? std::chrono::milliseconds(200) : std::chrono::seconds(5);
  if (now - last_draw_ < interval) return;
  last_draw_ = now;
  draw(false);
}

void Progress::set_note(std::string note) {
  std::lock_guard lock(mutex_);
  note_ = std::move(note);
}

void Progress::finish() {
  std::lock_guard lock(mutex_);
  if (finished_) return;
  finished_ = true;
  if (!g_enabled) return;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  // Short work stays quiet: the bar only matters when someone waits.
  if (elapsed < 1.0 && !tty_) return;
  if (elapsed < 0.3) return;
  draw(true);
}

void Progress::draw(bool final) {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? done_ / elapsed : 0;
  const std::string rate_text = fmt::format("{:.3g} {}/s", rate / unit_scale_, unit_);
  std::string line;
  if (total_ > 0) {
    const double frac = std::min(1.0, done_ / total_);
    const double eta = rate > 0 ? (total_ - done_) / rate : -1;
    if (tty_) {
      const int width = 30;
      const int filled = static_cast<int>(frac * width);
      line = fmt::format("\r{} [{}{}] {:5.1f}% {} ETA {}{}{}\x1b[K", label_,
                         std::string(filled, '#'), std::string(width - filled, '.'), frac * 100,
                         rate_text, final ? "done" : format_duration(eta),
                         note_.empty() ? "" : "  ", note_);
    } else {
      line = fmt::format("{}: {:.1f}% ({}, {} elapsed, ETA {}){}{}\n", label_, frac * 100,
                         rate_text, format_duration(elapsed), final ? "done" : format_duration(eta),
                         note_.empty() ? "" : ": ", note_);
    }
  } else {
    line = fmt::format("{}{}: {:.4g} {} ({}, {}){}", tty_ ? "\r" : "", label_, done_ / unit_scale_,
                       unit_, rate_text, format_duration(elapsed), tty_ ? "" : "\n");
  }
  if (tty_ && final) line += "\n";
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

}  // namespace reckon
