/**
 * A rate as a percentage for messages: `digits` decimals, or by default two
 * below 10 % and one above.
 *
 * @example percent(0.2) // '20.0 %'
 */
export function percent(rate: number, digits?: number): string {
  return `${(rate * 100).toFixed(digits ?? (rate < 0.1 ? 2 : 1))} %`;
}

/**
 * A count for messages, thousands set apart by spaces.
 *
 * @example grouped(12345) // '12 345'
 */
export function grouped(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

/**
 * A latency for messages: three decimals under 1 ms, two under 10 ms, one under 100 ms, none above.
 *
 * @example millis(4.096) // '4.10 ms'
 */
export function millis(ms: number): string {
  return `${ms.toFixed(ms < 1 ? 3 : ms < 10 ? 2 : ms < 100 ? 1 : 0)} ms`;
}
