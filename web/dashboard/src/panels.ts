// The read-only panels of one migration, drawn anew from each view (the controls keep their own elements).
import { PHASES } from '../../../src/core/phases.js';
import type { MigrationView, SideView } from '../../../src/dashboard/api-types.js';
import { clock, duration, fill, h, mark, percent } from './dom.js';

const section = (id: string, title: string, ...body: (Node | string | null)[]): HTMLElement =>
  h(
    'section',
    { class: 'panel', id, attrs: { 'aria-labelledby': `${id}-title` } },
    h('h2', { id: `${id}-title` }, title),
    ...body,
  );

const dl = (rows: readonly (readonly [string, Node | string | number])[]): HTMLElement =>
  h('dl', null, ...rows.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)]));

const table = (head: readonly string[], rows: readonly (readonly (Node | string | number)[])[]): HTMLElement =>
  h(
    'table',
    null,
    h('thead', null, h('tr', null, ...head.map((c) => h('th', null, c)))),
    h('tbody', null, ...rows.map((r) => h('tr', null, ...r.map((c) => h('td', null, c))))),
  );

/** The phases in order, the current one marked, with when each was last entered (from the audit log). */
export function timeline(v: MigrationView): HTMLElement {
  const here = PHASES.indexOf(v.phase);
  const entered = new Map<string, string>();
  for (const e of [...v.audit].reverse()) {
    const phase = e.to.replace(/ \d+(\.\d+)? %| \(strict\)/g, '');
    if (e.from?.replace(/ \d+(\.\d+)? %| \(strict\)/g, '') !== phase) entered.set(phase, e.at);
  }
  const steps = PHASES.map((p, i) =>
    h(
      'li',
      { class: i < here ? 'done' : i === here ? 'current' : 'ahead', data: { phase: p } },
      h('span', { class: 'name' }, p === 'ramp' && i === here ? `ramp ${v.rampPercent} %` : p),
      entered.has(p) ? h('span', { class: 'when' }, clock(entered.get(p) as string)) : null,
    ),
  );
  const state = [
    v.started ? `version ${v.version}` : 'not started: nothing recorded in the control store yet',
    `${v.authoritative} is authoritative`,
    v.strict ? 'strict dual writes' : null,
    v.writesPaused ? 'writes paused for a cutover' : null,
  ].filter((s): s is string => s !== null);
  return section(
    'phase',
    'Phase',
    h(
      'p',
      { class: 'phase-now' },
      h('b', { id: 'phase-name' }, v.phase === 'ramp' ? `ramp ${v.rampPercent} %` : v.phase),
      ` — ${state.join(', ')}`,
    ),
    h('ol', { class: 'timeline' }, ...steps),
  );
}

export function gates(v: MigrationView): HTMLElement {
  const list = h(
    'ul',
    { class: 'checklist' },
    ...v.gates.map((g) =>
      h('li', { data: { gate: g.gate, ok: String(g.ok) } }, mark(g.ok), ' ', h('b', null, g.gate), ' ', g.detail),
    ),
  );
  return section(
    'gates',
    v.next ? `Gates into ${v.next}` : 'Gates',
    v.next
      ? v.gates.length === 0
        ? h('p', null, 'none: the step is not gated')
        : list
      : h('p', null, 'complete: no phase ahead'),
    ...v.warnings.map((w) => h('p', { class: 'warning' }, w)),
  );
}

export function fleet(v: MigrationView): HTMLElement {
  return section(
    'fleet',
    'Fleet',
    v.instances.length === 0
      ? h('p', { class: 'warning' }, 'no live instance follows this migration')
      : table(
          ['instance', 'host', 'phase version', 'acknowledged', 'last heartbeat'],
          v.instances.map((i) => [
            i.instanceId,
            i.host,
            i.phaseVersion,
            mark(i.acknowledged),
            `${duration(i.lastSeenMsAgo)} ago`,
          ]),
        ),
  );
}

export function backfill(v: MigrationView): HTMLElement {
  const b = v.backfill;
  const state = b.complete
    ? 'complete'
    : b.started
      ? b.paused
        ? 'paused'
        : 'running or stopped before the end'
      : 'not started';
  const bar =
    b.rowsDone !== null && b.total !== null && b.total > 0
      ? h('progress', { attrs: { max: String(b.total), value: String(Math.min(b.rowsDone, b.total)) } })
      : null;
  return section(
    'backfill',
    'Backfill',
    bar,
    dl([
      ['state', `${state}${b.run !== 'backfill' ? ` (run ${b.run})` : ''}`],
      ['rows', b.rowsDone === null ? '–' : `${b.rowsDone}${b.total === null ? '' : ` of ${b.total}`}`],
      ['rate', b.rowsPerSecond === null ? '–' : `${b.rowsPerSecond} rows/s`],
      ['time left', b.complete ? '0 s' : b.etaMs === null ? 'unknown' : duration(b.etaMs)],
      ['ranges', b.ranges > 0 ? `${b.rangesComplete} of ${b.ranges} complete` : '–'],
      ['ceiling', b.maxRowsPerSecond === null ? 'none set here' : `${b.maxRowsPerSecond} rows/s`],
      ['dead letters', v.repairs.deadLetters],
    ]),
  );
}

export function verification(v: MigrationView): HTMLElement {
  const r = v.verification;
  if (!r)
    return section(
      'verification',
      'Verification',
      h('p', null, 'never verified (or not since the last entry into old-only)'),
    );
  const keys = r.keys;
  const lists = keys
    ? [
        keys.missing.length > 0 ? h('p', null, h('b', null, 'missing in new: '), keys.missing.join(', ')) : null,
        keys.extra.length > 0 ? h('p', null, h('b', null, 'only in new: '), keys.extra.join(', ')) : null,
        keys.different.length > 0
          ? h(
              'ul',
              { class: 'keys' },
              ...keys.different.map((d) =>
                h('li', null, d.keyId, d.fields.length > 0 ? ` (${d.fields.join(', ')})` : ''),
              ),
            )
          : null,
      ]
    : [];
  return section(
    'verification',
    'Verification',
    h('p', null, mark(r.status === 'equal'), ` ${r.status} — ${r.mode}, ${clock(r.at)}, in ${r.phase}`),
    dl([
      ['matched', r.matched],
      ['missing', r.missing],
      ['extra', r.extra],
      ['different', r.different],
    ]),
    ...lists,
  );
}

export function shadow(v: MigrationView): HTMLElement {
  const s = v.shadow;
  const recent =
    s.recent === null
      ? h(
          'p',
          { class: 'muted' },
          'The instances compare; their counts are summed here. Each mismatch’s key is listed only when an instance runs in this process.',
        )
      : s.recent.length === 0
        ? h('p', null, 'no mismatch heard')
        : table(
            ['when', 'key', 'fields', ...(s.recent.some((m) => m.values) ? ['values'] : [])],
            s.recent.map((m) => [
              clock(m.at),
              m.keyId,
              m.fields.join(', '),
              ...(m.values ? [JSON.stringify(m.values)] : []),
            ]),
          );
  return section(
    'shadow',
    'Shadow reads',
    dl([
      ['comparisons', `${s.comparisons} (the gate needs ${s.minComparisons})`],
      ['mismatches', s.mismatches],
      ['rate', `${percent(s.rate)} (limit ${percent(s.maxRate)})`],
    ]),
    recent,
  );
}

export function repairs(v: MigrationView): HTMLElement {
  const r = v.repairs;
  return section(
    'repairs',
    'Repairs',
    dl([
      ['pending', r.pending],
      ['parked', r.parked],
      ['dead letters', r.deadLetters],
    ]),
    r.parkedSample.length > 0
      ? table(
          ['parked key', 'direction', 'error', 'store', 'constraint'],
          r.parkedSample.map((p) => [p.keyId, p.direction, p.code, p.store, p.constraint ?? '']),
        )
      : null,
  );
}

const side = (name: string, s: SideView): (string | number)[] => [
  name,
  s.calls,
  s.errors,
  percent(s.errorRate),
  `${s.p99Ms} ms`,
];

export function stores(v: MigrationView): HTMLElement {
  const reach = (name: 'old' | 'new'): HTMLElement => {
    const r = v.stores[name];
    return h(
      'li',
      null,
      mark(r.reachable),
      ` ${name}: `,
      r.reachable
        ? `answers${r.errors ? `, ${r.errors} schema error(s)` : ''}${r.warnings ? `, ${r.warnings} warning(s)` : ''}`
        : `does not answer (${r.error?.code ?? ''}: ${r.error?.message ?? ''})`,
    );
  };
  return section(
    'stores',
    'Stores: latency and errors',
    h('ul', { class: 'checklist' }, reach('old'), reach('new')),
    v.capacity
      ? table(
          ['store', 'calls', 'errors', 'error rate', 'p99'],
          [side('old', v.capacity.old), side('new', v.capacity.new)],
        )
      : h(
          'p',
          { class: 'muted', id: 'capacity-none' },
          'no figures yet: the instances report their calls on each store with their heartbeats',
        ),
  );
}

export function audit(v: MigrationView): HTMLElement {
  return section(
    'audit',
    'Audit log',
    v.audit.length === 0
      ? h('p', null, 'no entries')
      : table(
          ['when', 'who', 'what', 'from', 'to', 'version', 'why'],
          v.audit.map((e) => [
            clock(e.at),
            e.actor,
            `${e.action}${e.forced ? ' (forced)' : ''}`,
            e.from ?? '–',
            e.to,
            e.version,
            e.reason,
          ]),
        ),
  );
}

/** Redraws every read-only panel of `v` into its slot. */
export function renderPanels(slots: Readonly<Record<string, HTMLElement>>, v: MigrationView): void {
  const panels: Record<string, (v: MigrationView) => HTMLElement> = {
    phase: timeline,
    gates,
    fleet,
    backfill,
    verification,
    shadow,
    repairs,
    stores,
    audit,
  };
  for (const [name, draw] of Object.entries(panels)) {
    const slot = slots[name];
    if (slot) fill(slot, draw(v));
  }
}
