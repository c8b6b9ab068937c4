export { HlsGate } from './hlsgate';
export { PREFIXES } from './common';
export { HlsGateProps, PARAMETER_PROPS, fromParameters, toParameters } from './props';
export { PARAMETERS, ParameterName, Parameters, HlsGateConfigError, checked, failedRules, patternViolations } from './parameters';
