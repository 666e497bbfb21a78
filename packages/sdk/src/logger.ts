// The client's two built-in loggers: silence, and the default that prints warnings and errors to the console.
import type { Logger } from './types';

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export const consoleLogger: Logger = {
  debug() {},
  info() {},
  warn: (m, ...a) => console.warn(`[wavegate] ${m}`, ...a),
  error: (m, ...a) => console.error(`[wavegate] ${m}`, ...a),
};
