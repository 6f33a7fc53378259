// runtime/results/ask.cpp — the non-template parts of troupe::ask (include/troupe/ask.hpp):
// arming and cancelling an ask's timer, counting a reply that came too late, and the errors
// (including the one of an actor awaiting the reply to its own unreceived request).
#include "troupe/ask.hpp"

#include <chrono>
#include <cstdint>
#include <exception>
#include <string>
#include <utility>

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

std::string what_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

const char* describe(dead_letter_reason r) {
  switch (r) {
    case dead_letter_reason::shutdown:
      return "it was stopped by the runtime's shutdown()";
    case dead_letter_reason::shutdown_deadline:
      return "it was killed at the deadline of the runtime's shutdown(deadline)";
    case dead_letter_reason::killed:
      return "it was killed";
    case dead_letter_reason::failed:
      return "it had failed (an exception escaped a handler)";
    case dead_letter_reason::stopped:
    case dead_letter_reason::late_reply:
      break;
  }
  return "it had stopped (closed, or its run() returned)";
}

}  // namespace

ask_failed::ask_failed(std::exception_ptr cause)
    : ask_error("ask: the responder failed the request: " + what_of(cause)),
      cause_(std::move(cause)),
      cause_text_(what_of(cause_)) {}

ask_dropped::ask_dropped()
    : ask_error(
          "ask: the request was dropped without a reply (the responder let go of it without "
          "calling reply() or fail(), or an exception left its handler first)") {}

ask_stopped::ask_stopped(dead_letter_reason reason)
    : ask_error(std::string("ask: the responder never handled the request: ") + describe(reason) +
                ", so the request became a dead letter"),
      reason_(reason) {}

ask_timeout::ask_timeout(std::chrono::nanoseconds timeout)
    : ask_error("ask: no reply within " + describe_timeout(timeout) +
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
  core_->report_dead_letter(0, type, dead_letter_reason::late_reply, 0);
  core_->count_dead_letters(1);
}

std::exception_ptr make_ask_timeout(std::chrono::nanoseconds timeout) noexcept {
  try {
    return std::make_exception_ptr(ask_timeout(timeout));
  } catch (...) {
    return nullptr;  // out of memory: the caller breaks the result with a static reason
  }
}

std::exception_ptr make_ask_failed(std::exception_ptr cause) noexcept {
  try {
    return std::make_exception_ptr(ask_failed(cause));
  } catch (...) {
    return cause;  // out of memory: the asker gets the responder's exception unwrapped
  }
}

std::exception_ptr make_request_dropped() noexcept {
  try {
    if (const dead_letter_reason* r = dead_letter_in_progress()) {
      return std::make_exception_ptr(ask_stopped(*r));
    }
    return std::make_exception_ptr(ask_dropped());
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
