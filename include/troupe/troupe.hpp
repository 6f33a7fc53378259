// troupe/troupe.hpp — everything a user of troupe needs.
#pragma once

#include "troupe/actor.hpp"           // IWYU pragma: export
#include "troupe/ask.hpp"             // IWYU pragma: export
#include "troupe/blocking_actor.hpp"  // IWYU pragma: export
#include "troupe/bounded.hpp"         // IWYU pragma: export
#include "troupe/coro_actor.hpp"      // IWYU pragma: export
#include "troupe/diagnostics.hpp"     // IWYU pragma: export
#include "troupe/error.hpp"           // IWYU pragma: export
#include "troupe/exit_reason.hpp"     // IWYU pragma: export
#include "troupe/monitor.hpp"         // IWYU pragma: export
#include "troupe/ref.hpp"             // IWYU pragma: export
#include "troupe/result.hpp"          // IWYU pragma: export
#include "troupe/runtime.hpp"         // IWYU pragma: export
#include "troupe/stats.hpp"           // IWYU pragma: export
#include "troupe/supervisor.hpp"      // IWYU pragma: export
#include "troupe/tagged_actor.hpp"    // IWYU pragma: export
#include "troupe/task_worker.hpp"     // IWYU pragma: export
#include "troupe/timer.hpp"           // IWYU pragma: export
#include "troupe/weak_ref.hpp"        // IWYU pragma: export
