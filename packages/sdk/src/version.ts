export const SDK_NAME = 'wavegate-node';
export const SDK_VERSION = '0.1.0';
