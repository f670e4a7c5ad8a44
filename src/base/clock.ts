/** Wall-clock milliseconds for measurements (monotonic; the same in every realm: window, workers, worklets, Node). */
export function now(): number {
  return performance.now();
}
