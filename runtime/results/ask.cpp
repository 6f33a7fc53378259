// runtime/results/ask.cpp — the non-template parts of troupe::ask (include/troupe/ask.hpp):
// arming and cancelling an ask's timer, counting a reply that came too late, and the errors
// (including the one of an actor awaiting the reply to its own unreceived request).
#include "troupe/ask.hpp"

#include <chrono>
#include <cstdint>
#include <string>

#include "sched/runtime_core.hpp"
#include "sched/worker.hpp"
#include "sched/worker_counters.hpp"

namespace troupe {
namespace {

std::string describe_timeout(std::chrono::nanoseconds t) {
  using namespace std::chrono;
  if (t == nanoseconds::max()) return "an unbounded timeout";
  const auto n = t.count();
  if (n != 0 && n % 1'000'000'000 == 0) return std::to_string(n / 1'000'000'000) + " s";
  if (n != 0 && n % 1'000'000 == 0) return std::to_string(n / 1'000'000) + " ms";
  if (n != 0 && n % 1'000 == 0) return std::to_string(n / 1'000) + " us";
  return std::to_string(n) + " ns";
}

}  // namespace

ask_timeout::ask_timeout(std::chrono::nanoseconds timeout)
    : error("ask: no reply within " + describe_timeout(timeout) +
            " (the timeout passed first; a reply after it is discarded)"),
      timeout_(timeout) {}

namespace detail {

ask_timing::~ask_timing() {
  if (core_ != nullptr) core_->release();
}

void ask_timing::arm(runtime_core* core, std::chrono::nanoseconds timeout, timer_task* t) {
  core->add_ref();  // held until the state goes: disarm() and late_reply() need the core
  core_ = core;
  timeout_ = timeout;
  const timer_clock::time_point now = timer_clock::now();
  timer_clock::time_point deadline = timer_clock::time_point::max();
  if (timeout <
      std::chrono::duration_cast<std::chrono::nanoseconds>(timer_clock::time_point::max() - now)) {
    deadline = now + std::chrono::duration_cast<timer_clock::duration>(timeout);
  }
  // 0 after shutdown: then t is discarded and the request is dead-lettered by the send,
  // which breaks the result anyway. On an exception t is discarded too.
  timer_ = schedule_timer(core, deadline, t);
}

void ask_timing::disarm() noexcept {
  if (core_ != nullptr && timer_ != 0) cancel_timer(core_, timer_);
}

void ask_timing::late_reply(const std::type_info& type) const noexcept {
  if (core_ == nullptr) return;  // cannot happen: only a timeout makes a reply late
  if (worker* w = current_worker_of(core_)) {
    worker_counters::add(w->counters().sent, 1);
  } else {
    core_->count_external_sent();
  }
  core_->report_dead_letter(0, type, dead_letter_reason::late_reply);
  core_->count_dead_letters(1);
}

std::exception_ptr make_ask_timeout(std::chrono::nanoseconds timeout) noexcept {
  try {
    return std::make_exception_ptr(ask_timeout(timeout));
  } catch (...) {
    return nullptr;  // out of memory: the caller breaks the result with a static reason
  }
}

void throw_request_answered(const char* operation) {
  throw error(std::string("request::") + operation +
              "(): the request was already answered (answer each request once, with reply() "
              "or fail()), or it was moved from");
}

void throw_awaiting_own_request() {
  throw error(
      "await: the awaited result is the reply to a request that is still queued, unreceived, "
      "in this actor's own mailbox (an ask() the actor sent to itself, through self()): the "
      "actor receives nothing while it awaits, so the reply would never come. Receive and "
      "answer the request first (then await the result), or ask another actor; an event "
      "actor may use then(), which runs after the request is handled.");
}

}  // namespace detail
}  // namespace troupe
