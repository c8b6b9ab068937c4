# Shared by the bench/compare-*.sh scripts (sourced, not run).

SIGNER_VERSION=3.1166.0

# Installs Node's reference signer into bench/node_modules (git-ignored).
ensure_node_signer() {
  if [ ! -d bench/node_modules/@aws-sdk/cloudfront-signer ]; then
    echo "installing @aws-sdk/cloudfront-signer@$SIGNER_VERSION into bench/node_modules" >&2
    npm install --prefix bench --no-save --no-audit --no-fund --loglevel=error \
      "@aws-sdk/cloudfront-signer@$SIGNER_VERSION" >&2
  fi
}

# Best of three runs of "$@", each printing its rate as the first word: the
# run least disturbed by the rest of the machine.
best() {
  local best=0 r
  for _ in 1 2 3; do
    r=$("$@" | awk '{print $1}')
    best=$(awk -v a="$r" -v b="$best" 'BEGIN{print (a > b) ? a : b}')
  done
  echo "$best"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{print a/b}'; }

machine() {
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
}
