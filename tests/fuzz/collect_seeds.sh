#!/usr/bin/env bash
# Collects the seed corpora of the fuzz targets into OUT/<target>/ (a build
# directory; nothing collected here is committed):
#   fuzz_loader  every YAML file of processes/ and examples/, alone; the
#                bundled processes with their calendar and indicators in one
#                multi-file input ("#file: PATH" sections, see fuzz_loader.cpp);
#                tests/bad-input/**/*.yaml|yml
#   fuzz_expr    the conditions and templates of the bundled processes
#                (make_seeds), tests/bad-input/ files that are not YAML or JSON
#   fuzz_form    the values, durations and spans of the bundled processes
#                (make_seeds), the same bad-input files
#   fuzz_events  event logs of walked instances (make_seeds),
#                tests/bad-input/**/*.json
#   fuzz_tzif    a few zones of the tzdata package (/usr/share/zoneinfo): with
#                and without daylight saving, half-hour shifts, southern rules
#   fuzz_names   the hand-written seeds only (query, company, contact, phone)
# plus the hand-written seeds in tests/fuzz/seeds/<target>/.
# Usage: tests/fuzz/collect_seeds.sh MAKE_SEEDS_BINARY OUT
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
make_seeds=$1
out=$2

rm -rf "$out"
mkdir -p "$out"/{fuzz_loader,fuzz_expr,fuzz_form,fuzz_events,fuzz_tzif,fuzz_names}

# Copies FILE into DIR under a name unique to its path.
put() {
  local file=$1 dir=$2
  local name
  name=$(printf '%s' "${file#"$root"/}" | tr '/ ' '__')
  cp "$file" "$dir/$name"
}

while IFS= read -r -d '' f; do put "$f" "$out/fuzz_loader"; done \
  < <(find "$root/processes" "$root/examples" -type f \( -name '*.yaml' -o -name '*.yml' \) -print0 2>/dev/null)

# The whole bundled regulation as one input: its processes, calendar and
# indicators (the org, forms and scripts are the target's fixed context).
{
  for f in "$root"/processes/*.yaml; do
    [ "$(basename "$f")" = org.yaml ] && continue
    printf '#file: %s\n' "$(basename "$f")"
    cat "$f"
  done
} > "$out/fuzz_loader/bundle-all"
# Each process with the calendar, which its deadlines and windows need.
for f in "$root"/processes/*.yaml; do
  case "$(basename "$f")" in org.yaml|calendar.yaml|indicators.yaml) continue ;; esac
  { printf '#file: calendar.yaml\n'; cat "$root/processes/calendar.yaml"
    printf '#file: %s\n' "$(basename "$f")"; cat "$f"; } > "$out/fuzz_loader/with-calendar-$(basename "$f")"
done

if [ -d "$root/tests/bad-input" ]; then
  while IFS= read -r -d '' f; do
    case "$f" in
      *.yaml|*.yml) put "$f" "$out/fuzz_loader" ;;
      *.json) put "$f" "$out/fuzz_events" ;;
      *) put "$f" "$out/fuzz_expr"; put "$f" "$out/fuzz_form" ;;
    esac
  done < <(find "$root/tests/bad-input" -type f -size -64k -print0)
fi

for z in UTC Europe/Moscow Europe/Berlin America/New_York Australia/Lord_Howe Asia/Kathmandu \
         America/Sao_Paulo Pacific/Apia Africa/Casablanca; do
  [ -f "/usr/share/zoneinfo/$z" ] && cp "/usr/share/zoneinfo/$z" "$out/fuzz_tzif/$(echo "$z" | tr '/' '_')"
done

generated=$(mktemp -d)
trap 'rm -rf "$generated"' EXIT
"$make_seeds" "$generated"
cp "$generated"/expr/* "$out/fuzz_expr/" 2>/dev/null || true
cp "$generated"/form/* "$out/fuzz_form/" 2>/dev/null || true
cp "$generated"/events/* "$out/fuzz_events/" 2>/dev/null || true

for t in fuzz_loader fuzz_expr fuzz_form fuzz_events fuzz_tzif fuzz_names; do
  seeds="$root/tests/fuzz/seeds/${t#fuzz_}"
  if [ -d "$seeds" ]; then
    for f in "$seeds"/*; do [ -f "$f" ] && cp "$f" "$out/$t/hand-$(basename "$f")"; done
  fi
  echo "seeds: $t $(find "$out/$t" -type f | wc -l) files"
done
