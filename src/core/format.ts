/**
 * A rate as a percentage for messages: `digits` decimals, or by default two
 * below 10 % and one above.
 *
 * @example percent(0.2) // '20.0 %'
 */
export function percent(rate: number, digits?: number): string {
  return `${(rate * 100).toFixed(digits ?? (rate < 0.1 ? 2 : 1))} %`;
}
