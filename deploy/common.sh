# Shared by deploy/rollout.sh and deploy/smoke.sh (sourced, with PROGRAM set): printing each AWS
# command before it runs, refusing to go on without explicit settings, and checking that the
# credentials in use are for ACCOUNT.
die() { echo "$PROGRAM: $*" >&2; exit 2; }
show() {
  local shown="+" arg
  for arg in "$@"; do
    if [[ "$arg" =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then shown+=" $arg"; else shown+=" $(printf '%q' "$arg")"; fi
  done
  echo "$shown"
}
run() { show "$@"; [ "${DRY_RUN:-0}" = 1 ] || "$@"; }
need() { for name in "$@"; do [ -n "${!name:-}" ] || die "set $name (no default, on purpose)"; done; }
# Refuse to act without an explicit ACCOUNT and REGION.
require_account() {
  need ACCOUNT REGION
  [[ "$ACCOUNT" =~ ^[0-9]{12}$ ]] || die "ACCOUNT must be a 12-digit account id, got '$ACCOUNT'"
}
# Refuse to act with credentials of another account than ACCOUNT.
check_credentials() {
  if [ "${DRY_RUN:-0}" = 1 ]; then
    run aws sts get-caller-identity --query Account --output text --region "$REGION"
  else
    local actual
    actual=$(aws sts get-caller-identity --query Account --output text --region "$REGION")
    [ "$actual" = "$ACCOUNT" ] || die "the credentials in use are for account $actual, not $ACCOUNT"
  fi
}
