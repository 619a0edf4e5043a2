// libFuzzer target: time zones read from TZif bytes (engine/calendar.h), the
// one binary format the engine parses (calendar.yaml names a zone; its file
// comes from /usr/share/zoneinfo).
//
// A zone that loads must answer for every instant of 1900..2100 (and the
// instants next to its own transitions within that range): its offset is
// within RFC 8536's ±25 hours, a local date and time read back through
// to_utc names the same local date and time, and a working calendar in that
// zone finds working time at or after any moment.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/calendar.h"
#include "engine/time.h"

using namespace reglament;

namespace {

void expect(bool ok, const char* what, int64_t utc) {
  if (ok) return;
  std::fprintf(stderr, "property broken at %lld: %s\n", static_cast<long long>(utc), what);
  std::abort();
}

constexpr int64_t kFrom = -2208988800;  // 1900-01-01T00:00:00Z
constexpr int64_t kTo = 4102444800;     // 2100-01-01T00:00:00Z

void check_instant(const TimeZone& z, const WorkingCalendar& cal, int64_t utc) {
  if (utc < kFrom || utc > kTo) return;
  const int offset = z.offset_at(utc);
  expect(offset >= -89999 && offset <= 93599, "an offset stays within RFC 8536's range", utc);
  const CivilDate d = z.local_date(utc);
  const int64_t s = z.local_seconds(utc);
  expect(s >= 0 && s < 86400, "local seconds are within the day", utc);
  const int64_t back = z.to_utc(d, s);
  expect(z.local_date(back) == d && z.local_seconds(back) == s,
         "to_utc of a local date and time reads back as the same local date and time", utc);
  expect(back <= utc, "to_utc gives the first occurrence of a local time", utc);
  const int64_t next = cal.next_working_moment(utc);
  expect(next >= utc, "the next working moment is not in the past", utc);
  if (next != utc) expect(cal.is_working_time(next), "the next working moment is working time", utc);
  expect(cal.add_working_seconds(utc, 8 * 3600) >= next, "8 working hours end after they start", utc);
  (void)cal.add_working_days(utc, 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Result<TimeZone> z = TimeZone::from_tzif("Fuzz/Zone", bytes);
  if (!z) {
    if (z.error().code != ErrorCode::invalid || z.error().message.empty()) std::abort();
    return 0;
  }
  WorkingCalendar cal = default_calendar();
  cal.zone = *z;
  cal.lunch = std::pair<int64_t, int64_t>{13 * 3600, 14 * 3600};
  // A spread of instants over two centuries. A few changes of offset are
  // narrowed down to the hour by bisection and checked around.
  int prev = z->offset_at(kFrom);
  int changes = 0;
  for (int64_t utc = kFrom; utc <= kTo; utc += 86400 * 197 + 3607) {
    check_instant(*z, cal, utc);
    const int now = z->offset_at(utc);
    if (now != prev && changes++ < 6) {
      int64_t lo = utc - (86400 * 197 + 3607), hi = utc;
      while (hi - lo > 3600) {
        const int64_t mid = lo + (hi - lo) / 2;
        (z->offset_at(mid) == prev ? lo : hi) = mid;
      }
      for (int64_t d = -3 * 3600; d <= 3 * 3600; d += 1800) check_instant(*z, cal, hi + d);
    }
    prev = now;
  }
  for (int64_t utc : {int64_t{1795791600}, int64_t{1711846800}, int64_t{1729990800}}) {
    for (int64_t d = -7200; d <= 7200; d += 1800) check_instant(*z, cal, utc + d);
  }
  return 0;
}
