#!/usr/bin/env bash
# Roll Guardrails::ECS::NonRootUser out with the AWS CLI and the CloudFormation CLI:
#   register    register the hook in one account and Region and make it the default version
#   configure   enable it there with deploy/config/$MODE.json (MODE=audit: WARN, enforce: FAIL)
#   org-deploy  upload the package to BUCKET, create or update the StackSet, add instances for
#               the organizational units OUS in REGIONS not yet targeted (MODE=audit or enforce)
#   org-status  show the StackSet, its latest operations and its instances
#   org-off     stop the hook in every account at once: stop running operations, then set
#               HookInvocationStatus DISABLED at full concurrency (org-deploy turns it on again)
#   audit-role  deploy the role ecs-nonroot audit assumes (deploy/iam/audit-member-role.yaml) to
#               every account of OUS, once per account: a StackSet of its own in REGION only
#               (IAM is global); AUDIT_ROLE names it (default NonRootAudit), AUDITOR is the
#               account the audit runs from (default ACCOUNT), SECURITY_HUB=true lets the audit
#               write its findings to each account's Security Hub
# StackSets refuse an operation while another runs on the same StackSet, so each operation this
# starts is waited for (at most WAIT_SECONDS) before the next; the StackSet also queues them
# (managed execution) against operations started elsewhere.
# Nothing runs without an explicit ACCOUNT and REGION, nor with credentials of another account.
# Every AWS command is printed before it runs; DRY_RUN=1 prints them and runs nothing, and keeps
# the parameters file it would deploy with (its path is printed) for review.
set -euo pipefail

TYPE_NAME=Guardrails::ECS::NonRootUser
STACK_SET=${STACK_SET:-guardrails-ecs-nonrootuser}
AUDIT_STACK_SET=${AUDIT_STACK_SET:-guardrails-nonroot-audit-role}
CALL_AS=${CALL_AS:-DELEGATED_ADMIN}
PACKAGE=${PACKAGE:-guardrails-ecs-nonrootuser.zip}
MODE=${MODE:-audit}
here=$(cd "$(dirname "$0")" && pwd)
PROGRAM=rollout
# shellcheck source=deploy/common.sh
. "$here/common.sh"
# Run a command that starts a StackSet operation, then wait until the operation has ended.
operation() {
  show "$@"
  [ "${DRY_RUN:-0}" = 1 ] && return 0
  local id
  id=$("$@" --query OperationId --output text)
  wait_for "$id"
}
wait_for() {
  local id=$1 status waited=0
  while :; do
    status=$(aws cloudformation describe-stack-set-operation "${common[@]}" --operation-id "$id" \
      --query StackSetOperation.Status --output text)
    case "$status" in
      SUCCEEDED|STOPPED) echo "rollout: operation $id $status after ${waited}s"; return 0;;
      FAILED) die "operation $id FAILED: see make org-status";;
    esac
    [ "$waited" -lt "${WAIT_SECONDS:-3600}" ] || die "operation $id still $status after ${waited}s"
    sleep "${POLL_SECONDS:-15}"; waited=$((waited + ${POLL_SECONDS:-15}))
  done
}

# The parameters a StackSet is deployed with, into a file: removed on exit, or kept in a dry run.
write_parameters() {
  if [ "${DRY_RUN:-0}" = 1 ]; then
    parameters_file=$(mktemp "${TMPDIR:-/tmp}/rollout-parameters.XXXXXX")
    echo "rollout: the parameters it would deploy with, kept for review: $parameters_file"
  else
    parameters_file=$(mktemp); trap 'rm -f "$parameters_file"' EXIT
  fi
  printf '%s\n' "$1" > "$parameters_file"
}
# Create or update the StackSet of common[] with template[], then add instances for the OUs of
# OUS in each Region of regions[] not yet targeted (the update reached the others).
apply_stack_set() {
  local targeted region ous new ou
  if [ "${DRY_RUN:-0}" != 1 ] && aws cloudformation describe-stack-set "${common[@]}" > /dev/null 2>&1; then
    operation aws cloudformation update-stack-set "${common[@]}" "${template[@]}" \
      --operation-preferences FailureTolerancePercentage=10,MaxConcurrentPercentage=25,RegionConcurrencyType=PARALLEL
    targeted=$(aws cloudformation list-stack-instances "${common[@]}" \
      --query 'Summaries[].[OrganizationalUnitId,Region]' --output text)
  else
    run aws cloudformation create-stack-set "${common[@]}" "${template[@]}" \
      --permission-model SERVICE_MANAGED \
      --auto-deployment Enabled=true,RetainStacksOnAccountRemoval=false
    targeted=""
  fi
  for region in "${regions[@]}"; do
    new=()
    for ou in ${OUS//,/ }; do
      grep -qxF "$ou	$region" <<< "$targeted" || new+=("$ou")
    done
    [ "${#new[@]}" -gt 0 ] || { echo "rollout: $region: every OU is targeted already"; continue; }
    ous=$(IFS=,; echo "${new[*]}")
    operation aws cloudformation create-stack-instances "${common[@]}" \
      --deployment-targets "OrganizationalUnitIds=$ous" --regions "$region" \
      --operation-preferences FailureTolerancePercentage=10,MaxConcurrentPercentage=25
  done
}

action=${1:-}
case "$action" in register|configure|org-deploy|org-status|org-off|audit-role) ;;
  *) die "usage: rollout.sh register|configure|org-deploy|org-status|org-off|audit-role";; esac
require_account
case "$MODE" in audit) failure_mode=WARN;; enforce) failure_mode=FAIL;; *) die "MODE must be audit or enforce";; esac

dry=""; [ "${DRY_RUN:-0}" = 1 ] && dry=" (dry run: nothing is changed)"
echo "rollout: $action in account $ACCOUNT, $REGION$dry"
check_credentials

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
  # Every parameter comes from this command: the three below, PARAMETERS (shorthand, e.g.
  # 'ParameterKey=MinimumUid,ParameterValue=1000') and PARAMETERS_FILE (the CLI's JSON list,
  # for list values such as ExemptImages); what none names gets its default.
  parameters=$(python3 "$here/parameters.py" "PackageBucket=$BUCKET" "PackageKey=$key" \
    "FailureMode=$failure_mode" ${PARAMETERS:-} ${PARAMETERS_FILE:+"--file=$PARAMETERS_FILE"}) ||
    die "PARAMETERS or PARAMETERS_FILE cannot be read, or sets what the hook would refuse"
  write_parameters "$parameters"
  echo "rollout: StackSet $STACK_SET with FailureMode $failure_mode, package s3://$BUCKET/$key,"
  echo "rollout: for the accounts of $OUS in ${regions[*]} (call as $CALL_AS)"
  run aws s3 cp "$PACKAGE" "s3://$BUCKET/$key" --region "$REGION"
  common=(--stack-set-name "$STACK_SET" --call-as "$CALL_AS" --region "$REGION")
  template=(--template-body "file://$here/hook-stackset.yaml" --capabilities CAPABILITY_IAM
    --parameters "file://$parameters_file" --managed-execution Active=true)
  apply_stack_set
  echo "rollout: done; see make org-status"
  ;;
audit-role)
  need OUS
  role=${AUDIT_ROLE:-NonRootAudit} auditor=${AUDITOR:-$ACCOUNT} findings=${SECURITY_HUB:-false}
  [[ "$role" =~ ^[A-Za-z0-9+=,.@_-]{1,64}$ ]] || die "AUDIT_ROLE must be an IAM role name, got '$role'"
  [[ "$auditor" =~ ^[0-9]{12}$ ]] || die "AUDITOR must be a 12-digit account id, got '$auditor'"
  case "$findings" in true|false) ;; *) die "SECURITY_HUB must be true or false";; esac
  write_parameters "$(python3 -c 'import json, sys
print(json.dumps([{"ParameterKey": k, "ParameterValue": v} for k, v in zip(
    ("AuditorAccountId", "RoleName", "SecurityHubFindings"), sys.argv[1:])], indent=2))' \
    "$auditor" "$role" "$findings")"
  echo "rollout: StackSet $AUDIT_STACK_SET: role $role, assumed from $auditor, Security Hub"
  echo "rollout: findings $findings; in every account of $OUS once (one Region: $REGION)"
  common=(--stack-set-name "$AUDIT_STACK_SET" --call-as "$CALL_AS" --region "$REGION")
  template=(--template-body "file://$here/iam/audit-member-role.yaml"
    --capabilities CAPABILITY_NAMED_IAM --parameters "file://$parameters_file"
    --managed-execution Active=true)
  regions=("$REGION")
  apply_stack_set
  echo "rollout: done; the audit: ecs-nonroot audit --organization --role $role"
  ;;
org-off)
  common=(--stack-set-name "$STACK_SET" --call-as "$CALL_AS" --region "$REGION")
  echo "rollout: turning $TYPE_NAME off in every account of StackSet $STACK_SET (HookInvocationStatus DISABLED)"
  running=""
  if [ "${DRY_RUN:-0}" != 1 ]; then
    running=$(aws cloudformation list-stack-set-operations "${common[@]}" \
      --query "Summaries[?Status=='RUNNING' || Status=='QUEUED'].OperationId" --output text)
  fi
  for id in $running; do  # an operation in the way would hold the stop behind it
    run aws cloudformation stop-stack-set-operation "${common[@]}" --operation-id "$id"
    wait_for "$id"
  done
  keys=HookInvocationStatus
  [ "${DRY_RUN:-0}" = 1 ] || keys=$(aws cloudformation describe-stack-set "${common[@]}" \
    --query 'StackSet.Parameters[].ParameterKey' --output text)
  parameters=("ParameterKey=HookInvocationStatus,ParameterValue=DISABLED")
  for key in $keys; do
    [ "$key" = HookInvocationStatus ] || parameters+=("ParameterKey=$key,UsePreviousValue=true")
  done
  operation aws cloudformation update-stack-set "${common[@]}" --use-previous-template \
    --capabilities CAPABILITY_IAM --parameters "${parameters[@]}" \
    --operation-preferences FailureTolerancePercentage=100,MaxConcurrentPercentage=100,RegionConcurrencyType=PARALLEL
  echo "rollout: off; make org-deploy turns it on again"
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
