// runtime/diag/watchdog.hpp — the stuck-handler watchdog (runtime_config::
// stuck_handler_limit): a thread that looks at what every worker runs every quarter of the
// limit (turn_watch.hpp) and reports each handler seen running past the limit, once.
//
// Off (limit 0, the default): no thread exists and nothing else changes — the turn records
// it reads are kept by the workers anyway, for shutdown(deadline). The thread lives from
// start() until stop(), which runtime_core::shutdown() calls before it joins the workers
// (the watchdog reads them).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "actor/registry.hpp"
#include "sched/worker.hpp"
#include "troupe/diagnostics.hpp"

namespace troupe::detail {

class watchdog {
 public:
  watchdog() = default;
  ~watchdog() { stop(); }
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;

  /// Starts the thread if `limit` > 0. `report` may be empty: then one line on stderr.
  /// The actors are found through `registry` (turn_record.hpp says why).
  void start(const std::vector<std::unique_ptr<worker>>& workers, actor_registry& registry,
             std::chrono::milliseconds limit, std::function<void(const stuck_handler&)> report);
  /// Ends the thread (waits for a report in progress). Idempotent.
  void stop() noexcept;

 private:
  void run(const std::vector<std::unique_ptr<worker>>& workers, actor_registry& registry,
           std::chrono::milliseconds limit) noexcept;

  std::function<void(const stuck_handler&)> report_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // under mu_
  std::thread thread_;
};

}  // namespace troupe::detail
