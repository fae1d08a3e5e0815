#!/usr/bin/env bash
# Roll Guardrails::ECS::NonRootUser out with the AWS CLI and the CloudFormation CLI:
#   register    register the hook in one account and Region and make it the default version
#   configure   enable it there with deploy/config/$MODE.json (MODE=audit: WARN, enforce: FAIL)
#   org-deploy  upload the package to BUCKET, create or update the StackSet, add instances for
#               the organizational units OUS in REGIONS (MODE=audit or enforce)
#   org-status  show the StackSet, its latest operations and its instances
# Nothing runs without an explicit ACCOUNT and REGION, nor with credentials of another account.
# Every AWS command is printed before it runs; DRY_RUN=1 prints them and runs nothing.
set -euo pipefail

TYPE_NAME=Guardrails::ECS::NonRootUser
STACK_SET=${STACK_SET:-guardrails-ecs-nonrootuser}
CALL_AS=${CALL_AS:-DELEGATED_ADMIN}
PACKAGE=${PACKAGE:-guardrails-ecs-nonrootuser.zip}
MODE=${MODE:-audit}
here=$(cd "$(dirname "$0")" && pwd)

die() { echo "rollout: $*" >&2; exit 2; }
run() {
  local shown="+" arg
  for arg in "$@"; do
    if [[ "$arg" =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then shown+=" $arg"; else shown+=" $(printf '%q' "$arg")"; fi
  done
  echo "$shown"
  [ "${DRY_RUN:-0}" = 1 ] || "$@"
}
need() { for name in "$@"; do [ -n "${!name:-}" ] || die "set $name (no default, on purpose)"; done; }

action=${1:-}
case "$action" in register|configure|org-deploy|org-status) ;; *) die "usage: rollout.sh register|configure|org-deploy|org-status";; esac
need ACCOUNT REGION
[[ "$ACCOUNT" =~ ^[0-9]{12}$ ]] || die "ACCOUNT must be a 12-digit account id, got '$ACCOUNT'"
case "$MODE" in audit) failure_mode=WARN;; enforce) failure_mode=FAIL;; *) die "MODE must be audit or enforce";; esac

dry=""; [ "${DRY_RUN:-0}" = 1 ] && dry=" (dry run: nothing is changed)"
echo "rollout: $action in account $ACCOUNT, $REGION$dry"
if [ "${DRY_RUN:-0}" = 1 ]; then
  run aws sts get-caller-identity --query Account --output text --region "$REGION"
else
  actual=$(aws sts get-caller-identity --query Account --output text --region "$REGION")
  [ "$actual" = "$ACCOUNT" ] || die "the credentials in use are for account $actual, not $ACCOUNT"
fi

case "$action" in
register)
  echo "rollout: registering $TYPE_NAME from this checkout and making it the default version"
  # cfn submit builds its own package: the pinned wheels (requirements.txt), PyYAML's libyaml
  # binding included (x86_64; on arm64 PyYAML does without it), without repack.py's bytecode.
  run env PIP_NO_DEPS=1 PIP_ONLY_BINARY=:all: "PIP_PLATFORM=any manylinux2014_x86_64" \
    PIP_PYTHON_VERSION=3.12 cfn submit --set-default --no-docker --region "$REGION"
  ;;
configure)
  echo "rollout: enabling $TYPE_NAME with FailureMode $failure_mode (deploy/config/$MODE.json)"
  run aws cloudformation set-type-configuration --region "$REGION" --type HOOK \
    --type-name "$TYPE_NAME" --configuration-alias default \
    --configuration "file://$here/config/$MODE.json"
  ;;
org-deploy)
  need BUCKET OUS REGIONS
  [ -f "$PACKAGE" ] || die "no package at $PACKAGE: run make package"
  # The package names its version and commit (scripts/repack.py): the key does too, so one
  # commit is one object, and a version in the registry traces back to its commit.
  build=$(python3 -c 'import io, json, sys, zipfile
code = zipfile.ZipFile(io.BytesIO(zipfile.ZipFile(sys.argv[1]).read("ResourceProvider.zip")))
build = json.loads(code.read("guardrails_ecs_nonrootuser/BUILD.json"))
print(build["version"] + "-" + build["commit"][:12])' "$PACKAGE" 2>/dev/null) ||
    die "$PACKAGE does not name its build: make it with make package"
  key="guardrails-ecs-nonrootuser/$build/guardrails-ecs-nonrootuser.zip"
  read -r -a regions <<< "${REGIONS//,/ }"
  parameters=(
    "ParameterKey=PackageBucket,ParameterValue=$BUCKET"
    "ParameterKey=PackageKey,ParameterValue=$key"
    "ParameterKey=FailureMode,ParameterValue=$failure_mode"
  )
  # Further template parameters, e.g. PARAMETERS='ParameterKey=MinimumUid,ParameterValue=1000'
  read -r -a extra <<< "${PARAMETERS:-}"
  parameters+=("${extra[@]}")
  echo "rollout: StackSet $STACK_SET with FailureMode $failure_mode, package s3://$BUCKET/$key,"
  echo "rollout: for the accounts of $OUS in ${regions[*]} (call as $CALL_AS)"
  run aws s3 cp "$PACKAGE" "s3://$BUCKET/$key" --region "$REGION"
  common=(--stack-set-name "$STACK_SET" --call-as "$CALL_AS" --region "$REGION")
  template=(--template-body "file://$here/hook-stackset.yaml" --capabilities CAPABILITY_IAM)
  if [ "${DRY_RUN:-0}" != 1 ] && aws cloudformation describe-stack-set "${common[@]}" > /dev/null 2>&1; then
    run aws cloudformation update-stack-set "${common[@]}" "${template[@]}" \
      --parameters "${parameters[@]}" \
      --operation-preferences FailureTolerancePercentage=10,MaxConcurrentPercentage=25
  else
    run aws cloudformation create-stack-set "${common[@]}" "${template[@]}" \
      --parameters "${parameters[@]}" --permission-model SERVICE_MANAGED \
      --auto-deployment Enabled=true,RetainStacksOnAccountRemoval=false
  fi
  run aws cloudformation create-stack-instances "${common[@]}" \
    --deployment-targets "OrganizationalUnitIds=$OUS" --regions "${regions[@]}" \
    --operation-preferences FailureTolerancePercentage=10,MaxConcurrentPercentage=25,RegionConcurrencyType=PARALLEL
  echo "rollout: follow it with make org-status"
  ;;
org-status)
  common=(--stack-set-name "$STACK_SET" --call-as "$CALL_AS" --region "$REGION")
  run aws cloudformation describe-stack-set "${common[@]}" \
    --query 'StackSet.{Status:Status,Parameters:Parameters}' --output json
  run aws cloudformation list-stack-set-operations "${common[@]}" --max-results 5 \
    --query 'Summaries[].[OperationId,Action,Status]' --output text
  run aws cloudformation list-stack-instances "${common[@]}" \
    --query 'Summaries[].[Account,Region,Status,StackInstanceStatus.DetailedStatus]' --output text
  ;;
esac
