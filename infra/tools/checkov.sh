#!/usr/bin/env bash
# checkov, offline, on templates: `make validate` gives it the template as
# written, its SAM expansion, every resolved parameter set (both
# RewriterOrigin values among them) and infra/edge.yaml. Every check either
# passes or is skipped in the template's Metadata with its reason; a failure,
# or a skip without a reason, fails the run.
#   usage: checkov.sh OUT.json TEMPLATE|DIR...   (a DIR means its *.json)
set -euo pipefail
out=$1
shift
checkov="${HLSGATE_TOOLS:-.tools}/checkov/bin/checkov"
files=()
for path in "$@"; do
  if [ -d "$path" ]; then
    for f in "$path"/*.json; do files+=(-f "$f"); done
  else
    files+=(-f "$path")
  fi
done
# --skip-download: no guideline text or policies from the vendor (it would
# try, and fail, to reach them); its complaints on stderr go to a file.
status=0
"$checkov" "${files[@]}" --framework cloudformation --skip-download --compact \
  -o json >"$out" 2>"${out%.json}.stderr" || status=$?
python3 - "$out" "$status" <<'PY'
import json, sys
path, status = sys.argv[1], int(sys.argv[2])
try:
    reports = json.load(open(path))
except json.JSONDecodeError:
    sys.exit(f"checkov wrote no report (exit {status}); see {path[:-5]}.stderr")
if isinstance(reports, dict):
    reports = [reports]
failed, passed, skipped = [], 0, 0
for r in reports:
    passed += r["summary"]["passed"]
    skipped += r["summary"]["skipped"]
    for c in r["results"].get("failed_checks", []):
        failed.append(f'{c["file_path"]}: {c["check_id"]} {c["resource"]}: {c["check_name"]}')
    for c in r["results"].get("skipped_checks", []):
        if not (c.get("check_result", {}).get("suppress_comment") or "").strip():
            failed.append(f'{c["file_path"]}: {c["check_id"]} {c["resource"]}: skipped without a reason')
for f in failed:
    print("  FAILED", f)
print(f"checkov: {passed} passed, {skipped} skipped with a reason, {len(failed)} unexplained")
sys.exit(1 if failed or status not in (0, 1) else 0)
PY
