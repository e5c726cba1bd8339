#include "group_commit.hpp"

#include <future>

#include "reckon/core/error.hpp"

namespace reckon {

namespace detail {

void GroupCommitter::start(Commit commit, Maintain maintain, std::chrono::milliseconds tick) {
  commit_ = std::move(commit);
  maintain_ = std::move(maintain);
  tick_ = tick;
  thread_ = std::thread([this] { loop(); });
}

void GroupCommitter::submit(PendingWrite write) {
  std::unique_lock lock(mutex_);
  if (stopping_) {
    lock.unlock();
    if (write.done) write.done(std::make_exception_ptr(IoError("event store is closing")));
    return;
  }
  queue_.push_back(std::move(write));
  lock.unlock();
  wake_.notify_one();
}

void GroupCommitter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void GroupCommitter::loop() {
  std::deque<PendingWrite> work;
  std::vector<PendingWrite> batch;
  bool more = false;  // maintenance asked to run again at once
  while (true) {
    {
      std::unique_lock lock(mutex_);
      const auto ready = [this] { return stopping_ || !queue_.empty(); };
      if (!more) {
        if (maintain_)
          wake_.wait_for(lock, tick_, ready);
        else
          wake_.wait(lock, ready);
      }
      if (queue_.empty() && stopping_) return;
      work.swap(queue_);
    }
    if (work.empty()) {  // idle: upkeep only
      more = maintain_ && maintain_();
      continue;
    }
    batch.assign(std::make_move_iterator(work.begin()), std::make_move_iterator(work.end()));
    work.clear();
    std::exception_ptr error;
    try {
      commit_(batch);
    } catch (...) {
      error = std::current_exception();
    }
    for (auto& w : batch)
      if (w.done) w.done(error);
    batch.clear();
    more = maintain_ && maintain_();
  }
}

void RetentionSchedule::set(Retention retention) {
  std::lock_guard lock(mutex_);
  retention_ = std::move(retention);
  next_pass_ = {};  // the first pass as soon as the writer gets to it
}

std::optional<RetentionSchedule::Chunk> RetentionSchedule::due() {
  std::lock_guard lock(mutex_);
  if (retention_.max_age_ms <= 0) return std::nullopt;
  Chunk c;
  if (!active_) {
    const auto now = std::chrono::steady_clock::now();
    if (now < next_pass_) return std::nullopt;
    next_pass_ = now + retention_.interval;
    active_ = true;
    c.first = true;
    cutoff_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count() -
                 retention_.max_age_ms;
  }
  c.cutoff_ms = cutoff_ms_;
  c.report = retention_.pruned;
  return c;
}

void RetentionSchedule::chunk_done(bool more) {
  std::lock_guard lock(mutex_);
  active_ = more;
}

}  // namespace detail

void EventStore::append(std::span<const Event> events) {
  if (events.empty()) return;
  StoreWrite w;
  w.events.assign(events.begin(), events.end());
  write(std::move(w));
}

void EventStore::put_item(std::string item_id, std::string json) {
  StoreWrite w;
  w.items.push_back({std::move(item_id), std::move(json)});
  write(std::move(w));
}

void EventStore::write(StoreWrite w) {
  std::promise<void> promise;
  auto done = promise.get_future();
  write_async(std::move(w), [&](std::exception_ptr e) {
    if (e)
      promise.set_exception(e);
    else
      promise.set_value();
  });
  done.get();
}

std::unique_ptr<EventStore> open_event_store(const std::string& location) {
  if (location.starts_with("postgresql://") || location.starts_with("postgres://"))
    return open_postgres_event_store(location);
  return open_sqlite_event_store(location);
}

}  // namespace reckon
