#!/usr/bin/env bash
# Check, in a sandbox account, that every layer of Guardrails::ECS::NonRootUser decides what it
# should (make smoke ACCOUNT=... REGION=...). With the hook registered and enabled there, it
#   CHANGE_SET     creates change sets for a stack with a root container (deploy/smoke/root.yaml)
#                  and for one whose User is a parameter given 0 (deploy/smoke/by-parameter.yaml),
#                  which the change set's afterContext holds resolved (never executed: in FAIL
#                  mode the hook fails them)
#   STACK          creates that stack
#   RESOURCE       creates a stack with a compliant task definition and one whose User is a
#                  parameter, given 0 (deploy/smoke/by-parameter.yaml): the stack layer cannot
#                  know it, the resource layer can
#   CLOUD_CONTROL  creates a task definition with a root container through Cloud Control
# each only if the configuration's TargetOperations names it, then reads the hook's verdicts
# (stack events, ListHookResults, GetHookResult, Cloud Control's request status) and prints a
# table: layer, expected (FailureMode WARN: the hook fails and the operation goes on; FAIL: it
# is blocked), observed, the hook's message. Exit 1 on any mismatch. After the table come the
# early layers' SKIPPED annotations: a payload the hook could not read shows its shape there.
# Task definitions only: no service, no task, no cost. Everything it creates is named
# nonroot-smoke-<run> and deleted on the way out, interrupted or not; nothing else is touched.
set -euo pipefail

TYPE_NAME=Guardrails::ECS::NonRootUser
here=$(cd "$(dirname "$0")" && pwd)
PROGRAM=smoke
# shellcheck source=deploy/common.sh
. "$here/common.sh"

require_account
run_id=${SMOKE_RUN:-$(date +%Y%m%d%H%M%S)-$$}
prefix="nonroot-smoke-$run_id"
work=$(mktemp -d)
stacks=()
created_resource=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for stack in "${stacks[@]}"; do
    run aws cloudformation delete-stack --region "$REGION" --stack-name "$stack" || true
  done
  for stack in "${stacks[@]}"; do
    run aws cloudformation wait stack-delete-complete --region "$REGION" --stack-name "$stack" ||
      echo "smoke: stack $stack is not deleted yet: delete it by hand" >&2
  done
  if [ -n "$created_resource" ]; then
    run aws cloudcontrol delete-resource --region "$REGION" --type-name AWS::ECS::TaskDefinition \
      --identifier "$created_resource" > /dev/null ||
      echo "smoke: task definition $created_resource is not deleted: deregister it by hand" >&2
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "smoke: $TYPE_NAME in account $ACCOUNT, $REGION (run $run_id)"
check_credentials
aws cloudformation describe-type --region "$REGION" --type HOOK --type-name "$TYPE_NAME" \
  --query Arn --output text > "$work/type-arn" 2> /dev/null ||
  die "$TYPE_NAME is not registered in $ACCOUNT $REGION: run make register ACCOUNT=$ACCOUNT REGION=$REGION"
type_arn=$(cat "$work/type-arn")
aws cloudformation batch-describe-type-configurations --region "$REGION" --output json \
  --type-configuration-identifiers "TypeArn=$type_arn,TypeConfigurationAlias=default" \
  > "$work/configuration.json"
settings=$(python3 "$here/smoke.py" configuration "$work/configuration.json") || exit 2
read -r mode targets <<< "$settings"
echo "smoke: FailureMode $mode, TargetOperations $targets"
targeted() { [[ ",$targets," == *",$1,"* ]]; }
cf=(aws cloudformation --region "$REGION")

if targeted CHANGE_SET; then
  for case in root parameter; do
    stack="$prefix-change-set-$case"; stacks+=("$stack")
    create=(create-change-set --stack-name "$stack" --change-set-name "$prefix" --change-set-type
      CREATE --template-body "file://$here/smoke/$([ $case = root ] && echo root || echo by-parameter).yaml")
    [ "$case" = root ] || create+=(--parameters ParameterKey=SmokeUser,ParameterValue=0)
    show "${cf[@]}" "${create[@]}"
    change_set=$("${cf[@]}" "${create[@]}" --query Id --output text)
    run "${cf[@]}" wait change-set-create-complete --change-set-name "$change_set" 2> /dev/null ||
      true  # a change set the hook blocks ends FAILED: the table says why
    "${cf[@]}" describe-change-set --change-set-name "$change_set" --output json \
      > "$work/change-set-$case.json"
    "${cf[@]}" list-hook-results --target-type CHANGE_SET --target-id "$change_set" \
      --output json > "$work/change-set-$case-hooks.json"
  done
fi
if targeted STACK; then
  stack="$prefix-stack"; stacks+=("$stack")
  create=(create-stack --stack-name "$stack" --template-body "file://$here/smoke/root.yaml")
  show "${cf[@]}" "${create[@]}"
  "${cf[@]}" "${create[@]}" > /dev/null
  run "${cf[@]}" wait stack-create-complete --stack-name "$stack" 2> /dev/null || true
  "${cf[@]}" describe-stack-events --stack-name "$stack" --output json > "$work/stack-root-events.json"
fi
if targeted RESOURCE || targeted STACK; then
  stack="$prefix-resource"; stacks+=("$stack")
  create=(create-stack --stack-name "$stack" --template-body "file://$here/smoke/by-parameter.yaml"
    --parameters ParameterKey=SmokeUser,ParameterValue=0)
  show "${cf[@]}" "${create[@]}"
  "${cf[@]}" "${create[@]}" > /dev/null
  run "${cf[@]}" wait stack-create-complete --stack-name "$stack" 2> /dev/null || true
  "${cf[@]}" describe-stack-events --stack-name "$stack" --output json \
    > "$work/stack-parameter-events.json"
fi
if targeted CLOUD_CONTROL; then
  cc=(aws cloudcontrol --region "$REGION")
  show "${cc[@]}" create-resource --type-name AWS::ECS::TaskDefinition \
    --desired-state "file://$here/smoke/cloud-control.json"
  token=$("${cc[@]}" create-resource --type-name AWS::ECS::TaskDefinition \
    --desired-state "file://$here/smoke/cloud-control.json" \
    --query ProgressEvent.RequestToken --output text)
  run "${cc[@]}" wait resource-request-success --request-token "$token" 2> /dev/null || true
  "${cc[@]}" get-resource-request-status --request-token "$token" --output json \
    > "$work/cloud-control.json"
  created_resource=$(python3 -c 'import json, sys
event = json.load(open(sys.argv[1])).get("ProgressEvent") or {}
print(event.get("Identifier") or "" if event.get("OperationStatus") == "SUCCESS" else "")' \
    "$work/cloud-control.json")
fi

# What the hook said, annotations included, for each result of its own.
python3 "$here/smoke.py" hook-results "$TYPE_NAME" "$work"/*-hooks.json "$work"/*-events.json \
  > "$work/results"
while read -r id layer; do
  "${cf[@]}" get-hook-result --hook-result-id "$id" --output json \
    > "$work/hook-result-$layer-$id.json" || echo "smoke: hook result $id cannot be read" >&2
done < "$work/results"
python3 "$here/smoke.py" report "$TYPE_NAME" "$mode" "$targets" "$work"
