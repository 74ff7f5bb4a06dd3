/**
 * Worker entry for `runUnits`: runs one OMG-RL reproduction unit (one seed) on its own core and
 * posts the result back, with progress lines on the way.
 *
 * @module
 */
import { initBackend } from "../core/backend.ts";
import { runOmgRlUnit } from "./omg_rl.ts";

const ready = initBackend();
// deno-lint-ignore no-explicit-any
const scope = self as any;
scope.onmessage = async (e: MessageEvent) => {
  await ready;
  try {
    const result = await runOmgRlUnit(e.data.unit, e.data.sizes, (m) => scope.postMessage({ progress: m }));
    scope.postMessage({ result });
  } catch (err) {
    scope.postMessage({ error: (err as Error).stack ?? String(err) });
  }
};
