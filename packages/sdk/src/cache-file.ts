import { readFile, rename, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import type { ClientFeaturesResponse } from '@wavegate/evaluation';

// A configuration from disk: a bootstrap file or the cache file. Throws with the path named when the file
// is missing or is not a features response.
export function parseConfiguration(text: string, origin: string): ClientFeaturesResponse {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw new Error(`${origin}: not JSON (${(e as Error).message})`);
  }
  if (!isFeaturesResponse(body)) throw new Error(`${origin}: not a features response (no "features" array)`);
  return body;
}

export function isFeaturesResponse(body: unknown): body is ClientFeaturesResponse {
  return (
    typeof body === 'object' && body !== null && Array.isArray((body as { features?: unknown }).features)
  );
}

export function readConfigurationSync(path: string): ClientFeaturesResponse {
  return parseConfiguration(readFileSync(path, 'utf8'), path);
}

export async function readConfiguration(path: string): Promise<ClientFeaturesResponse> {
  return parseConfiguration(await readFile(path, 'utf8'), path);
}

// Write to a temporary file, then rename: a crash mid-write never leaves a truncated cache behind.
export async function writeConfiguration(path: string, config: ClientFeaturesResponse): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(config), 'utf8');
  await rename(tmp, path);
}
