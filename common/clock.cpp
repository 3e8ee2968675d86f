// The one file allowed to read the real clocks (see tests/check_no_real_time.sh).
#include "common/clock.h"

#include <thread>

namespace cube {

SteadyTime SystemClock::now() const {
  return std::chrono::steady_clock::now();
}
SystemTime SystemClock::wall() const {
  return std::chrono::system_clock::now();
}
void SystemClock::sleep_for(Millis d) const {
  std::this_thread::sleep_for(d);
}

const Clock& system_clock() {
  static const SystemClock clock;
  return clock;
}

}  // namespace cube
