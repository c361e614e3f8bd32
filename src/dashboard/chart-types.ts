// What the charts draw, shared by the dashboard's page and the demo's report (types only: no code, no imports).

/** One series of a chart: a column of {@link ChartData.columns}, its label and its colour. */
export interface ChartSeries {
  /** An index into `columns` after the time column. */
  readonly column: number;
  readonly label: string;
  readonly stroke: string;
}

/** One chart: its element id, the shared x range, its height and its series (none: the phase band alone). */
export interface ChartSpec {
  readonly id: string;
  readonly x: readonly [number, number];
  readonly height: number;
  readonly series: readonly ChartSeries[];
}

/**
 * Every chart of a page on one time axis: the x range each takes, the phase
 * band painted behind each, the marks drawn across each, and the columns.
 */
export interface ChartData {
  /** The x range of every chart, in seconds. */
  readonly axis: { readonly min: number; readonly max: number };
  /** x values are Unix seconds shown as clock times (the live page); otherwise seconds since the start (the report). */
  readonly time?: boolean;
  readonly charts: readonly ChartSpec[];
  readonly periods: readonly {
    readonly phase: string;
    readonly from: number;
    readonly to: number;
    readonly color: string;
  }[];
  readonly marks: readonly {
    readonly at: number;
    readonly kind: string;
    readonly label: string;
    readonly color: string;
  }[];
  /** The time column first, then one column per series; `null` where a series has no value. */
  readonly columns: readonly (readonly (number | null)[])[];
}
