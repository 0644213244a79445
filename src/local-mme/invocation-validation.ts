/**
 * SageMaker's checks on InvokeEndpoint's parameters (botocore's service model), answered as
 * its ValidationError messages. An endpoint hosting inference components needs the component
 * header; a multi-model endpoint needs TargetModel.
 */
import { ENDPOINT_NAME, INFERENCE_COMPONENT_NAME, MAX_NAME_LENGTH, type InvokeEndpointHeaders, isSageMakerName } from '../sagemaker-wire.js';

const TARGET_MODEL = /^\S[\p{L}\p{M}\p{N}\p{P}\p{S}\p{Zs}]*$/u;
const MAX_TARGET_MODEL = 1024;
const MAX_HEADER_VALUE = 1024;
const MAX_INFERENCE_ID = 64;
const ASCII_PRINTABLE = /^[\x20-\x7e]*$/;

const constraintFailed = (member: string) => `1 validation error detected: Value at '${member}' failed to satisfy constraint.`;

/** The ValidationError message for a bad invocation, or undefined when it is valid. */
export function validateInvocation(endpoint: string, headers: InvokeEndpointHeaders, endpoints: string[] | undefined): string | undefined {
  if (!isSageMakerName(endpoint)) {
    return `1 validation error detected: Value '${endpoint}' at 'endpointName' failed to satisfy constraint.`;
  }
  if (endpoints && !endpoints.includes(endpoint)) {
    return `Endpoint ${endpoint} of account local not found.`;
  }
  for (const [member, value, pattern] of [
    ['inferenceComponentName', headers.inferenceComponent, INFERENCE_COMPONENT_NAME],
    ['targetVariant', headers.targetVariant, ENDPOINT_NAME],
    ['targetContainerHostname', headers.targetContainerHostname, ENDPOINT_NAME],
  ] as const) {
    if (value !== undefined && (value.length > MAX_NAME_LENGTH || !pattern.test(value))) return constraintFailed(member);
  }
  const target = headers.targetModel;
  if (headers.inferenceComponent === undefined) {
    if (target === undefined) return 'Target model header is required for multi-model endpoints.';
    if (target.length > MAX_TARGET_MODEL || !TARGET_MODEL.test(target)) return constraintFailed('targetModel');
  }
  for (const [member, value] of [
    ['contentType', headers.contentType],
    ['accept', headers.accept],
    ['customAttributes', headers.customAttributes],
  ] as const) {
    if (value !== undefined && (value.length > MAX_HEADER_VALUE || !ASCII_PRINTABLE.test(value))) return constraintFailed(member);
  }
  if (headers.inferenceId !== undefined && (headers.inferenceId.length < 1 || headers.inferenceId.length > MAX_INFERENCE_ID)) {
    return constraintFailed('inferenceId');
  }
  return undefined;
}
