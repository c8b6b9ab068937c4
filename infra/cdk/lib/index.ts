export { PREFIXES } from './common';
export { HlsGate } from './hlsgate';
export {
  checked,
  failedRules,
  HlsGateConfigError,
  PARAMETERS,
  ParameterName,
  Parameters,
  patternViolations,
} from './parameters';
export { fromParameters, HlsGateProps, PARAMETER_PROPS, toParameters } from './props';
